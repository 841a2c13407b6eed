package ai.convllava.model.api;

import java.util.List;

/**
 * One finished answer.
 *
 * @param promptTokens   positions of the whole prompt (every turn, visual tokens included)
 * @param reusedPromptTokens of those, the positions already in the conversation's KV cache (the pre-encoded
 *                       image, earlier turns, the question read while it was typed); only the rest was computed
 * @param imageAttention when recorded: entry k is the attention of the query that produced generated
 *                       token k (entry 0: the last prompt position; entry k: the position of token
 *                       k - 1); each (layers, image tokens), mean over heads; else empty
 * @param error          the message when {@code finishReason} is ERROR, else null
 */
public record GenerationResult(String text, int[] generatedIds, FinishReason finishReason, int promptTokens, int reusedPromptTokens,
                               int imageTokens, Timings timings, long seed, List<float[][]> imageAttention, String error) {
    public GenerationResult {
        generatedIds = generatedIds.clone();
        imageAttention = List.copyOf(imageAttention);
    }

    /** Prompt positions computed for this answer (the ones not already in the cache). */
    public int computedPromptTokens() {
        return promptTokens - reusedPromptTokens;
    }

    @Override
    public int[] generatedIds() {
        return generatedIds.clone();
    }
}
