package ai.convllava.model.api;

/**
 * Where the time of one answer went, in milliseconds. {@code timeToFirstTokenMs} runs from the
 * request to the first generated token (it includes encoding and prefill not already done).
 */
public record Timings(double preprocessMs, double visionEncodeMs, double prefillMs, double timeToFirstTokenMs, double decodeMs,
                      int decodedTokens) {
    /** Nothing spent yet. */
    public static final Timings NONE = new Timings(0, 0, 0, 0, 0, 0);

    /**
     * From the image handed over (preprocessing included) to the first generated token: what a command
     * that gets an image and a question at once waits for.
     */
    public double timeToFirstTokenFromImageMs() {
        return preprocessMs + timeToFirstTokenMs;
    }

    /** Tokens per second after the first one (0 when fewer than two tokens were generated). */
    public double decodeTokensPerSecond() {
        return decodedTokens > 0 && decodeMs > 0 ? decodedTokens * 1000.0 / decodeMs : 0;
    }
}
