package ai.convllava.app.gui.chat;

import ai.convllava.app.gui.common.Debouncer;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.DraftResult;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.VisionChatSession;

import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Reads the question while it is typed ({@link VisionChatSession#readDraft}): {@link #DELAY_MS} after
 * the last edit, when the question is ready to be read; a draft the session's cache already holds is
 * not sent again. UI thread only.
 */
final class DraftReader {
    /** Pause after the last keystroke before the question being typed is read into the model. */
    static final long DELAY_MS = 400;

    private final VisionChatSession session;
    private final Executor ui;
    private final BooleanSupplier typing;
    private final Supplier<ChatRequest> request;
    private final Debouncer delay;
    /** The draft sent last, until the session is done with it. */
    private TaskHandle<DraftResult> draft;
    /** The draft the session's cache holds (read, and nothing asked since): not sent again. */
    private ChatRequest read;

    /**
     * @param typing  whether there is a question being typed that should be read (the setting is on and the box is not empty)
     * @param request the request to read now, or null while the model cannot take it (an answer, no model, the image not ready)
     */
    DraftReader(VisionChatSession session, Debouncer.Timer timer, Executor ui, BooleanSupplier typing, Supplier<ChatRequest> request) {
        this.session = session;
        this.ui = ui;
        this.typing = typing;
        this.request = request;
        this.delay = new Debouncer(timer, DELAY_MS, this::readNow);
    }

    /** The question was edited: it is read {@link #DELAY_MS} after the last edit. */
    void edited() {
        if (!typing.getAsBoolean()) {
            delay.cancel();
            return;
        }
        delay.restart();
    }

    /** The cache no longer holds the last draft read (new image, model, conversation or answer): read it again. */
    void forget() {
        read = null;
        edited();
    }

    /** Stops the pause and the draft being read (the setting was turned off, or the question is sent). */
    void stop() {
        delay.cancel();
        if (draft != null) {
            draft.cancel();
            draft = null;
        }
    }

    /** The session's cache was emptied (a saved conversation opened): nothing it holds was read here. */
    void cacheCleared() {
        read = null;
    }

    /** Stops, and forgets what was read: the question is sent, so the cache will hold something else. */
    void sent() {
        stop();
        read = null;
    }

    private void readNow() {
        ChatRequest r = request.get();
        if (r == null || r.equals(read)) {
            return; // read again when what stops it changes (answer finished, image ready, model loaded)
        }
        TaskHandle<DraftResult> h = session.readDraft(r);
        draft = h;
        h.result().whenComplete((result, e) -> ui.execute(() -> {
            if (draft != h) {
                return; // sent, stopped or superseded meanwhile
            }
            draft = null;
            read = result != null && result.outcome() == DraftResult.Outcome.READ ? r : null;
        }));
    }
}
