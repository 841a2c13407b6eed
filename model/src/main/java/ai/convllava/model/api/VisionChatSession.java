package ai.convllava.model.api;

import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;

import java.util.Optional;
import java.util.function.Consumer;

/**
 * What the desktop app needs from the engine, with no DJL type in sight. All inference runs on
 * one background thread owned by the service; every method returns at once.
 *
 * <p>Setting an image starts pre-encoding: the image is encoded and the part of the prompt that
 * does not depend on the question ("system USER: &lt;image&gt;") is read into the KV cache while
 * the user types. A new image or mode cancels stale work.
 *
 * <p>The question itself can be read the same way while it is typed ({@link #readDraft}): when it is
 * sent, only what changed since the last draft, and the closing " ASSISTANT:", is left to compute.
 */
public interface VisionChatSession extends AutoCloseable {

    /** Loads a model (replacing the current one); progress over tensors/bytes. */
    TaskHandle<ModelInfo> loadModel(LoadOptions options, ProgressListener progress);

    Optional<ModelInfo> model();

    SessionState state();

    /** Called (on the inference thread) whenever {@link #state()} changes. */
    void addStateListener(Consumer<SessionState> listener);

    /** The canvas geometry for an image of this size in this mode, instantly (no pixels, no model needed). */
    CanvasGeometry geometry(int width, int height, CanvasMode mode);

    /** Preprocesses the image exactly as the model will see it (for the preview) and starts pre-encoding it. */
    TaskHandle<PreprocessedImage> setImage(RgbImage image, CanvasMode mode);

    /** Answers the last turn of {@code request} about the current image; the answer streams to {@code listener}. */
    TaskHandle<GenerationResult> ask(ChatRequest request, AnswerListener listener);

    /**
     * Reads a question that is still being typed into the conversation's KV cache, at low priority:
     * {@code draft} is the conversation so far with the draft as its pending last turn (its generation
     * settings are not used), and everything up to the end of the draft's text is prefilled, without the
     * " ASSISTANT:" that closes it, so that {@link #ask} later reuses it. Never changes an answer.
     *
     * <p>Returns at once. The latest draft wins: an older one still queued is dropped. A draft being read
     * stops at the next layer boundary when {@link #ask}, {@link #setImage}, {@link #newConversation},
     * {@link #loadModel} or {@link #close} is called. A draft sent while an answer is being written (or
     * a model loaded, or an image encoded) waits until that is done; it is skipped when there is no
     * model, the image is not encoded, or the conversation would not fit the context.
     */
    TaskHandle<DraftResult> readDraft(ChatRequest draft);

    /** Forgets the cached conversation (the image stays encoded). */
    void newConversation();

    @Override
    void close();
}
