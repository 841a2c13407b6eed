package ai.convllava.model.api;

/** What the inference service is doing; the app mirrors it as UI state. */
public enum SessionState {
    /** No model loaded: image preview works, questions cannot be answered. */
    NO_MODEL,
    LOADING,
    READY,
    /** Encoding the current image and reading the image part of the prompt (pre-encode). */
    ENCODING,
    /** Reading the question being typed into the KV cache (a draft); any request stops it at the next layer. */
    READING_DRAFT,
    GENERATING,
    /** The last load failed; the message says why and what to do. */
    ERROR
}
