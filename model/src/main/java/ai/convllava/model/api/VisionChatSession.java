package ai.convllava.model.api;

import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.session.LocalVisionChatSession;

import java.util.Optional;
import java.util.function.Consumer;

/**
 * A conversation with a ConvLLaVA model about one image at a time: the one way to run the model, for
 * every caller (the desktop app, {@code ask}, {@code self-test}, the benchmark, and later the local
 * server), with no DJL type in sight. All inference runs on one background thread owned by the
 * session; every method returns at once, with a handle to wait on or cancel.
 *
 * <p>The path of a question: {@link #loadModel} (options, progress, cancel); {@link #setImage} (the
 * canvas exactly as the model sees it, for the preview, then, unless asked not to, pre-encoding: the
 * image is encoded and the part of the prompt that does not depend on the question ("system USER:
 * &lt;image&gt;") is read into the KV cache while the user types); {@link #ask} (the answer streamed,
 * cancellable, with its timings and, when asked, the attention over the image of every token). The
 * conversation's cache is kept between questions: a follow-up or a regeneration only reads what is
 * new. A new image or mode cancels stale work.
 *
 * <p>The question itself can be read the same way while it is typed ({@link #readDraft}): when it is
 * sent, only what changed since the last draft, and the closing " ASSISTANT:", is left to compute.
 */
public interface VisionChatSession extends AutoCloseable {
    /** KV-cache positions a conversation starts with; it grows by doubling up to the model's context. */
    int INITIAL_CACHE_TOKENS = 1024;

    /** A session that runs the model in this process. */
    static VisionChatSession local() {
        return new LocalVisionChatSession();
    }

    /** Loads a model (replacing the current one); progress over tensors/bytes. */
    TaskHandle<ModelInfo> loadModel(LoadOptions options, ProgressListener progress);

    Optional<ModelInfo> model();

    SessionState state();

    /** Called (on the inference thread) whenever {@link #state()} changes. */
    void addStateListener(Consumer<SessionState> listener);

    /** The canvas geometry for an image of this size in this mode, instantly (no pixels, no model needed). */
    CanvasGeometry geometry(int width, int height, CanvasMode mode);

    /** Preprocesses the image exactly as the model will see it (for the preview) and starts pre-encoding it. */
    default ImageTask setImage(RgbImage image, CanvasMode mode) {
        return setImage(image, mode, true);
    }

    /**
     * Makes {@code image} the one questions are about: preprocessed at once (the task's result is the
     * canvas), and pre-encoded when {@code preEncode} (a question asked right away encodes it anyway, in
     * one go with its prompt).
     */
    ImageTask setImage(RgbImage image, CanvasMode mode, boolean preEncode);

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
