package ai.convllava.model.generate;

import java.util.List;

/**
 * One finished answer.
 *
 * @param imageAttention when recorded: entry k is the attention of the query that produced generated
 *                       token k (entry 0: the last prompt position; entry k: the position of token
 *                       k - 1); each (layers, image tokens), mean over heads; else empty
 * @param error          the message when {@code finishReason} is ERROR, else null
 */
public record GenerationResult(String text, int[] generatedIds, FinishReason finishReason, int promptTokens, int imageTokens,
                               Timings timings, long seed, List<float[][]> imageAttention, String error) {
    public GenerationResult {
        generatedIds = generatedIds.clone();
        imageAttention = List.copyOf(imageAttention);
    }

    @Override
    public int[] generatedIds() {
        return generatedIds.clone();
    }
}
