package ai.convllava.model.api;

/**
 * Receives one answer as it is produced, on the inference thread: keep it short (the app queues
 * the deltas and drains them once per frame).
 */
public interface AnswerListener {
    /** Ignores everything: for callers that only want the finished answer. */
    AnswerListener NONE = new AnswerListener() {
        @Override
        public void onStage(Stage stage, double fraction) {
        }

        @Override
        public void onText(String delta) {
        }
    };

    /** The stage now being worked on (encoding image, reading prompt, writing answer); fraction or -1. */
    void onStage(Stage stage, double fraction);

    /** Text added by one token (may be empty while a multi-byte character is incomplete). */
    void onText(String delta);

    /** Something the user should know about this answer (e.g. old turns left out to fit the context). */
    default void onNotice(String message) {
    }
}
