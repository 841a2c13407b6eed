package ai.convllava.model.api;

/**
 * What pre-encoding an image did, while the user types: the vision encode (or the features of the same
 * canvas, kept from before) and the prompt's image part read into the conversation's KV cache.
 *
 * @param visionEncodeMs tower and projector, 0 when the features were reused
 * @param projectorMs    of that, the projector
 * @param prefixTokens   positions of "system USER: &lt;image&gt;", visual tokens included
 * @param computedTokens of those, the positions computed now (the rest were in the cache)
 * @param prefillMs      the time to read them
 * @param reason         why it did not happen, else null
 */
public record PreEncoding(Outcome outcome, double visionEncodeMs, double projectorMs, boolean featuresReused, int prefixTokens,
                          int computedTokens, double prefillMs, String reason) {
    public enum Outcome {
        /** The image is encoded and its prompt part is in the cache: a question now only reads itself. */
        ENCODED,
        /** Not done (no model loaded, or not asked for); {@code reason} says which. */
        SKIPPED,
        /** A newer image, a question, a new conversation or a model load came first. */
        CANCELLED,
        /** The encode failed; {@code reason} has the message, and a question will try again. */
        FAILED
    }

    public static PreEncoding skipped(String reason) {
        return new PreEncoding(Outcome.SKIPPED, 0, 0, false, 0, 0, 0, reason);
    }

    public static PreEncoding cancelled(String reason) {
        return new PreEncoding(Outcome.CANCELLED, 0, 0, false, 0, 0, 0, reason);
    }

    public static PreEncoding failed(String reason) {
        return new PreEncoding(Outcome.FAILED, 0, 0, false, 0, 0, 0, reason);
    }
}
