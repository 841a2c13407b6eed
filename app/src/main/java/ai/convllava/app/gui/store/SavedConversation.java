package ai.convllava.app.gui.store;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

import java.util.List;

/**
 * One conversation as saved on disk (one JSON file per conversation).
 *
 * @param imagePath  the image file the user opened or dropped, or null
 * @param imageCopy  file name, in the data folder's {@code images/}, of a copy of a pasted image, or null
 * @param canvasMode PAD or NATIVE
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record SavedConversation(String id, String title, long createdAt, long updatedAt, String imagePath, String imageCopy,
                                String canvasMode, Generation settings, List<Message> messages) {
    public SavedConversation {
        messages = messages == null ? List.of() : List.copyOf(messages);
    }

    /** The decoding settings the answers were written with. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Generation(double temperature, double topP, int topK, double repetitionPenalty, int maxNewTokens, int seed,
                             String systemPrompt) {
    }

    /**
     * One chat message. role is "user" or "assistant"; for answers finish is EOS, LENGTH, CANCELLED,
     * ERROR, or STREAMING for an answer saved while it was being written.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Message(String role, String text, String finish, Stats stats) {
    }

    /**
     * Numbers shown under an answer.
     *
     * @param readyPromptTokens prompt tokens already in the model's cache when the question was sent (pre-encoded
     *                          image, earlier turns, the question read while typed); 0 in files saved before it
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Stats(double ttftMs, double tokensPerSecond, int promptTokens, int imageTokens, int generatedTokens,
                        int readyPromptTokens) {
    }
}
