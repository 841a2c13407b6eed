package ai.convllava.model.api;

import java.util.List;

/**
 * One question in a conversation about the current image: every earlier turn with its answer, then
 * the new question (the pending last turn). The service reuses whatever its KV cache already holds
 * of this conversation, so follow-ups and regenerations only prefill what is new.
 *
 * @param systemPrompt null for ConvLLaVA's own (conv_vicuna_v1)
 */
public record ChatRequest(List<Turn> turns, String systemPrompt, GenerationConfig generation) {
    /** conv_vicuna_v1's system prompt, which ConvLLaVA was trained with (a null {@code systemPrompt} means this one). */
    public static final String VICUNA_V1_SYSTEM = "A chat between a curious user and an artificial intelligence assistant. "
            + "The assistant gives helpful, detailed, and polite answers to the user's questions.";

    public ChatRequest {
        turns = List.copyOf(turns);
        if (turns.isEmpty() || turns.get(turns.size() - 1).assistant() != null) {
            throw new IllegalArgumentException("the last turn must be the question awaiting an answer");
        }
        if (generation == null) {
            throw new IllegalArgumentException("generation settings are required");
        }
    }

    public static ChatRequest question(String question, GenerationConfig generation) {
        return new ChatRequest(List.of(Turn.pending(question)), null, generation);
    }

    /**
     * A question still being typed, for {@link VisionChatSession#readDraft}: the turns so far and the draft
     * as the pending last one. Nothing is generated, so the generation settings are a placeholder.
     */
    public static ChatRequest draft(List<Turn> turns, String systemPrompt) {
        return new ChatRequest(turns, systemPrompt, GenerationConfig.greedy(1));
    }
}
