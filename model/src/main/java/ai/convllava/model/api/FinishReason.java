package ai.convllava.model.api;

/** Why generation stopped. */
public enum FinishReason {
    /** The model produced its end-of-sequence token. */
    EOS,
    /** max_new_tokens (or the context window) was reached. */
    LENGTH,
    /** The caller cancelled. */
    CANCELLED,
    /** An error ended it; the result carries the message. */
    ERROR
}
