package ai.convllava.model.generate;

import ai.convllava.model.api.Stage;

/** Receives an answer as it is generated; called on the inference thread, so keep it short. */
public interface TokenListener {
    TokenListener NONE = (id, delta) -> { };

    /** One generated token and the text it adds (may be empty while a multi-byte character is incomplete). */
    void onToken(int id, String textDelta);

    /** The stage being worked on and its progress in [0, 1], or -1 when unknown. */
    default void onStage(Stage stage, double progress) {
    }
}
