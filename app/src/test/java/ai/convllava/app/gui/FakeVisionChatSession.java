package ai.convllava.app.gui;

import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.ImageTask;
import ai.convllava.model.api.PreEncoding;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.DraftResult;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.VisionChatSession;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A scripted {@link VisionChatSession}: the test completes loads and answers itself and drives the
 * answer listener. Geometry follows the tiny model's rules (canvas 256, 64 px cells).
 */
public final class FakeVisionChatSession implements VisionChatSession {
    public static final int CANVAS = 256;
    public static final int CELL = 64;

    public static class Handle<T> implements TaskHandle<T> {
        private final CompletableFuture<T> result = new CompletableFuture<>();
        private volatile boolean cancelled;

        @Override
        public CompletableFuture<T> result() {
            return result;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }
    }

    /** An image's handle: the canvas at once; pre-encoding is the real session's business, skipped here. */
    public static final class ImageHandle extends Handle<PreprocessedImage> implements ImageTask {
        private final CompletableFuture<PreEncoding> encoded = CompletableFuture.completedFuture(PreEncoding.skipped("a fake session"));

        @Override
        public CompletableFuture<PreEncoding> encoded() {
            return encoded;
        }
    }

    /** One ask: what was asked, who listens, the handle the test completes. */
    public record Ask(ChatRequest request, AnswerListener listener, Handle<GenerationResult> handle) {
        public void stream(String... deltas) {
            for (String d : deltas) {
                listener.onText(d);
            }
        }

        public void finish(String text, FinishReason reason) {
            handle.result().complete(result(text, reason));
        }
    }

    /** One draft read: what was sent, the handle the test completes. */
    public record Draft(ChatRequest request, Handle<DraftResult> handle) {
        public String question() {
            return request.turns().get(request.turns().size() - 1).user();
        }
    }

    public final List<Ask> asks = new CopyOnWriteArrayList<>();
    public final List<Draft> drafts = new CopyOnWriteArrayList<>();
    public final List<LoadOptions> loads = new CopyOnWriteArrayList<>();
    public final List<Handle<ModelInfo>> loadHandles = new CopyOnWriteArrayList<>();
    public final List<RgbImage> images = new CopyOnWriteArrayList<>();
    public int newConversations;
    public boolean closed;
    private final List<Consumer<SessionState>> listeners = new ArrayList<>();
    private volatile SessionState state = SessionState.NO_MODEL;
    private volatile ModelInfo info;

    public static GenerationResult result(String text, FinishReason reason) {
        return new GenerationResult(text, new int[] {1, 2, 3}, reason, 66, 50, 16, new Timings(5, 10, 20, 1500, 200, 2), 0, List.of(), null);
    }

    public static ModelInfo modelInfo() {
        return new ModelInfo(Path.of("tiny"), "tiny", CANVAS, CELL, "tower", "CPU (2 threads)", WeightFormat.F32, 2, 1024, 1.5);
    }

    public void completeLoad() {
        info = modelInfo();
        setState(SessionState.READY);
        loadHandles.get(loadHandles.size() - 1).result().complete(info);
    }

    public void failLoad(RuntimeException e) {
        setState(SessionState.ERROR);
        loadHandles.get(loadHandles.size() - 1).result().completeExceptionally(e);
    }

    public Ask lastAsk() {
        return asks.get(asks.size() - 1);
    }

    public void setState(SessionState s) {
        state = s;
        for (Consumer<SessionState> l : listeners) {
            l.accept(s);
        }
    }

    @Override
    public TaskHandle<ModelInfo> loadModel(LoadOptions options, ProgressListener progress) {
        loads.add(options);
        Handle<ModelInfo> h = new Handle<>();
        loadHandles.add(h);
        setState(SessionState.LOADING);
        progress.progress("Loading LLM (1 / 2 tensors)", 0.5);
        return h;
    }

    @Override
    public Optional<ModelInfo> model() {
        return Optional.ofNullable(info);
    }

    @Override
    public SessionState state() {
        return state;
    }

    @Override
    public void addStateListener(Consumer<SessionState> listener) {
        listeners.add(listener);
    }

    @Override
    public CanvasGeometry geometry(int w, int h, CanvasMode mode) {
        if (mode == CanvasMode.PAD) {
            int side = Math.max(w, h);
            int iw = Math.round((float) w * CANVAS / side);
            int ih = Math.round((float) h * CANVAS / side);
            return new CanvasGeometry(CANVAS, CANVAS, (CANVAS - iw) / 2, (CANVAS - ih) / 2, iw, ih, CANVAS / CELL, CANVAS / CELL, CELL);
        }
        double s = (double) CANVAS / Math.min(w, h);
        int cw = Math.max(CELL, (int) Math.round(w * s / CELL) * CELL);
        int ch = Math.max(CELL, (int) Math.round(h * s / CELL) * CELL);
        return new CanvasGeometry(cw, ch, 0, 0, cw, ch, ch / CELL, cw / CELL, CELL);
    }

    @Override
    public ImageTask setImage(RgbImage image, CanvasMode mode, boolean preEncode) {
        images.add(image);
        CanvasGeometry g = geometry(image.width(), image.height(), mode);
        ImageHandle h = new ImageHandle();
        RgbImage canvas = RgbImage.filled(g.canvasWidth(), g.canvasHeight(), 120, 120, 120);
        h.result().complete(new PreprocessedImage(canvas, new float[canvas.rgb().length], g));
        return h;
    }

    @Override
    public TaskHandle<GenerationResult> ask(ChatRequest request, AnswerListener listener) {
        Handle<GenerationResult> h = new Handle<>();
        asks.add(new Ask(request, listener, h));
        return h;
    }

    @Override
    public TaskHandle<DraftResult> readDraft(ChatRequest draft) {
        Handle<DraftResult> h = new Handle<>();
        drafts.add(new Draft(draft, h));
        return h;
    }

    @Override
    public void newConversation() {
        newConversations++;
    }

    @Override
    public void close() {
        closed = true;
    }
}
