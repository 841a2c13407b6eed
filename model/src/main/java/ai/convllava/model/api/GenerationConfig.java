package ai.convllava.model.api;

/**
 * Decoding settings. temperature 0 is greedy (argmax); otherwise logits / temperature, then top-k,
 * then top-p (nucleus), then a seeded draw. repetitionPenalty follows transformers
 * ({@code RepetitionPenaltyLogitsProcessor}: positive logits divided, negative multiplied, for every
 * token id already in the sequence).
 *
 * @param seed        the random seed; null draws one (the result records which)
 * @param recordAttention record, for the last prompt position and each generated token, the attention
 *                    over the image tokens per layer (mean over heads) for heatmaps
 */
public record GenerationConfig(int maxNewTokens, double temperature, double topP, int topK, double repetitionPenalty, Long seed,
                               boolean recordAttention) {
    public GenerationConfig {
        if (maxNewTokens < 1 || maxNewTokens > 32768) {
            throw new IllegalArgumentException("max new tokens must be in [1, 32768] (got " + maxNewTokens + ")");
        }
        if (!(temperature >= 0) || temperature > 100) {
            throw new IllegalArgumentException("temperature must be in [0, 100] (got " + temperature + ")");
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in (0, 1] (got " + topP + ")");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0, 0 meaning off (got " + topK + ")");
        }
        if (!(repetitionPenalty > 0) || repetitionPenalty > 10) {
            throw new IllegalArgumentException("repetition penalty must be in (0, 10] (got " + repetitionPenalty + ")");
        }
    }

    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0, 1, 0, 1, 0L, false);
    }

    public GenerationConfig withRecordAttention(boolean on) {
        return new GenerationConfig(maxNewTokens, temperature, topP, topK, repetitionPenalty, seed, on);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
