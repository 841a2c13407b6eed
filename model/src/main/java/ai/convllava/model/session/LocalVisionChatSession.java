package ai.convllava.model.session;

import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.DraftResult;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.ImageTask;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.PreEncoding;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.Stage;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.engine.ModelLoader;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.image.ImagePreprocessor;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The session in this process: one inference thread owns the model, the image features (a small LRU
 * keyed by canvas content, size and model, {@link FeatureCache}) and the conversation's KV cache. A
 * second, pure-Java thread preprocesses images for the preview, so that a big photo shows at once even
 * while an answer is being written; it also hashes the canvas, once per image, for the feature cache.
 *
 * <p>Drafts (questions read while typed) are the lowest priority work on the inference thread: each
 * request bumps a counter that the draft being read polls between layers, and a draft waits behind
 * whatever was queued before it (an answer, a load, a pre-encode) and then runs only if it is still
 * the latest one and no request came since.
 */
public final class LocalVisionChatSession implements VisionChatSession {
    private static final Logger LOG = LoggerFactory.getLogger(LocalVisionChatSession.class);
    /** Canvas used for the preview before any model is loaded (ConvLLaVA-1536's). */
    public static final int DEFAULT_CANVAS = 1536;
    static final int FEATURE_CACHE_SIZE = 4;

    private final ExecutorService inference = Executors.newSingleThreadExecutor(r -> daemon(r, "convllava-inference"));
    private final ExecutorService preview = Executors.newSingleThreadExecutor(r -> daemon(r, "convllava-preview"));
    private final List<Consumer<SessionState>> stateListeners = new CopyOnWriteArrayList<>();
    private final AtomicLong imageEpoch = new AtomicLong();
    /** Bumped by every request (ask, image, new conversation, load, close): a draft being read stops. */
    private final AtomicLong requests = new AtomicLong();
    /** Number of the latest draft: an older one still queued is dropped. */
    private final AtomicLong drafts = new AtomicLong();
    private volatile SessionState state = SessionState.NO_MODEL;
    private volatile ModelInfo modelInfo;
    private volatile ImagePreprocessor preprocessor = ImagePreprocessor.clip(DEFAULT_CANVAS);

    // owned by the inference thread
    private ConvLlava model;
    private Conversation conversation;
    private final FeatureCache features = new FeatureCache(FEATURE_CACHE_SIZE);
    /** The image questions are about: written by the preview thread, read by the inference thread. */
    private volatile CurrentImage current;
    private volatile long currentImageEpoch;

    /** A preprocessed image with its content hash (computed once) and how long preprocessing took. */
    private record CurrentImage(PreprocessedImage pre, String contentKey, double preprocessMs) {
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    @Override
    public TaskHandle<ModelInfo> loadModel(LoadOptions options, ProgressListener progress) {
        SimpleTaskHandle<ModelInfo> h = new SimpleTaskHandle<>();
        requests.incrementAndGet();
        inference.execute(() -> {
            setState(SessionState.LOADING);
            releaseModel();
            long t0 = System.nanoTime();
            try {
                model = ModelLoader.load(options, (stage, done, total, bytes, bytesTotal) ->
                        progress.progress("Loading " + stage + " (" + done + " / " + total + " tensors)",
                                bytesTotal > 0 ? (double) bytes / bytesTotal : -1), h.cancelCheck());
                conversation = model.newConversation(options.initialContext(model.config().llm().maxPositionEmbeddings()));
                ImagePreprocessor pre = model.preprocessor();
                preprocessor = pre;
                modelInfo = new ModelInfo(model.folder().dir(), model.folder().dir().getFileName().toString(), pre.canvasSide(),
                        pre.stride(), towerDescription(model), model.deviceName(), model.weightFormat(), model.numLayers(),
                        model.config().llm().maxPositionEmbeddings(), (System.nanoTime() - t0) / 1e9);
                setState(SessionState.READY);
                h.future().complete(modelInfo);
            } catch (CancellationException e) {
                releaseModel();
                setState(SessionState.NO_MODEL);
                h.future().completeExceptionally(e);
            } catch (RuntimeException | OutOfMemoryError e) {
                releaseModel();
                LOG.warn("model load failed: {}", e.getMessage());
                setState(SessionState.ERROR);
                h.future().completeExceptionally(e);
            }
        });
        return h;
    }

    private static String towerDescription(ConvLlava m) {
        return m.visionTower().description()
                + (m.towerMemory() == TowerMemory.STREAMED ? "; its block weights are read for each new image, to save memory" : "");
    }

    private void releaseModel() {
        features.close();
        if (conversation != null) {
            conversation.close();
            conversation = null;
        }
        if (model != null) {
            model.close();
            model = null;
        }
        modelInfo = null;
        preprocessor = ImagePreprocessor.clip(DEFAULT_CANVAS);
    }

    @Override
    public Optional<ModelInfo> model() {
        return Optional.ofNullable(modelInfo);
    }

    @Override
    public SessionState state() {
        return state;
    }

    @Override
    public void addStateListener(Consumer<SessionState> listener) {
        stateListeners.add(listener);
    }

    private void setState(SessionState s) {
        state = s;
        for (Consumer<SessionState> l : stateListeners) {
            l.accept(s);
        }
    }

    @Override
    public CanvasGeometry geometry(int width, int height, CanvasMode mode) {
        return preprocessor.geometry(width, height, mode);
    }

    @Override
    public ImageTask setImage(RgbImage image, CanvasMode mode, boolean preEncode) {
        long epoch = imageEpoch.incrementAndGet();
        requests.incrementAndGet();
        ImageHandle h = new ImageHandle(() -> imageEpoch.get() != epoch);
        try {
            preview.execute(() -> prepare(image, mode, preEncode, epoch, h));
        } catch (RejectedExecutionException e) {
            h.future().completeExceptionally(new ConvLlavaException("the session is closed"));
            h.encoded.complete(PreEncoding.skipped("the session is closed"));
        }
        return h;
    }

    /** On the preview thread: the canvas and its hash, then the pre-encode queued on the inference thread. */
    private void prepare(RgbImage image, CanvasMode mode, boolean preEncode, long epoch, ImageHandle h) {
        if (h.isCancelled()) {
            h.future().completeExceptionally(new CancellationException("a newer image replaced this one"));
            h.encoded.complete(PreEncoding.cancelled("a newer image replaced this one"));
            return;
        }
        try {
            long t0 = System.nanoTime();
            PreprocessedImage pre = preprocessor.preprocess(image, mode);
            double ms = (System.nanoTime() - t0) / 1e6;
            CurrentImage img = new CurrentImage(pre, contentKey(pre), ms);
            current = img;
            currentImageEpoch = epoch;
            if (preEncode) {
                // queued before the preview completes: a question asked after it finds the image encoded
                inference.execute(() -> h.encoded.complete(preEncode(img, h)));
            } else {
                h.encoded.complete(PreEncoding.skipped("pre-encoding was not asked for"));
            }
            h.future().complete(pre);
        } catch (RuntimeException e) {
            currentImageEpoch = epoch; // the previous image stays the one questions are about
            h.encoded.complete(PreEncoding.failed(e.getMessage()));
            h.future().completeExceptionally(e);
        }
    }

    /** An image's handle: the canvas as its result, and its pre-encoding. */
    private static final class ImageHandle extends SimpleTaskHandle<PreprocessedImage> implements ImageTask {
        final CompletableFuture<PreEncoding> encoded = new CompletableFuture<>();

        ImageHandle(BooleanSupplier alsoCancelledWhen) {
            super(alsoCancelledWhen);
        }

        @Override
        public CompletableFuture<PreEncoding> encoded() {
            return encoded;
        }
    }

    /** Encodes the image and reads "system USER: <image>" into the cache while the user types. */
    private PreEncoding preEncode(CurrentImage img, SimpleTaskHandle<?> h) {
        if (model == null) {
            return PreEncoding.skipped("no model is loaded");
        }
        if (h.isCancelled() || current != img) {
            return PreEncoding.cancelled("a newer image or a request came first");
        }
        setState(SessionState.ENCODING);
        try {
            boolean reused = features.get(featureKey(img)) != null;
            ImageFeatures f = featuresFor(img, h);
            int[] prefix = ConversationPrompt.imageQuestion("").imagePrefixIds(model.tokenizer());
            long t0 = System.nanoTime();
            int computed = model.prefill(conversation, prefix, f, h.cancelCheck());
            double prefillMs = (System.nanoTime() - t0) / 1e6;
            return new PreEncoding(PreEncoding.Outcome.ENCODED, reused ? 0 : f.towerMs() + f.projectorMs(), reused ? 0 : f.projectorMs(),
                    reused, prefix.length - 1 + f.tokens(), computed, prefillMs, null);
        } catch (CancellationException e) {
            LOG.debug("pre-encode cancelled");
            return PreEncoding.cancelled("a newer image or a request came first");
        } catch (RuntimeException e) {
            LOG.warn("pre-encode failed: {}", e.getMessage());
            return PreEncoding.failed(e.getMessage());
        } finally {
            setState(SessionState.READY);
        }
    }

    /** Features of this canvas from the cache, or encoded now. */
    private ImageFeatures featuresFor(CurrentImage img, SimpleTaskHandle<?> h) {
        String key = featureKey(img);
        ImageFeatures f = features.get(key);
        if (f == null) {
            f = model.encodeImage(img.pre(), key, h.cancelCheck());
            features.put(key, f);
        }
        return f;
    }

    /** SHA-256 of the canvas pixels and its size: the same canvas is the same image, whatever file it came from. */
    private static String contentKey(PreprocessedImage pre) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(pre.canvas().rgb());
            return HexFormat.of().formatHex(md.digest()) + "/" + pre.geometry().canvasWidth() + "x" + pre.geometry().canvasHeight();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The canvas's identity in the feature cache: its content key and the model that encodes it. */
    private String featureKey(CurrentImage img) {
        return img.contentKey() + "/" + (modelInfo != null ? modelInfo.folder() : "");
    }

    @Override
    public TaskHandle<GenerationResult> ask(ChatRequest request, AnswerListener listener) {
        SimpleTaskHandle<GenerationResult> h = new SimpleTaskHandle<>();
        long start = System.nanoTime();
        requests.incrementAndGet();
        inference.execute(() -> {
            if (h.isCancelled()) {
                h.future().complete(cancelledBeforeStart());
                return;
            }
            if (model == null) {
                h.future().completeExceptionally(new ConvLlavaException("no model is loaded: choose a ConvLLaVA model folder first"));
                return;
            }
            setState(SessionState.GENERATING);
            try {
                CurrentImage img = current;
                ImageFeatures f = null;
                double visionMs = 0;
                if (img != null) {
                    listener.onStage(Stage.ENCODING_IMAGE, -1);
                    long v0 = System.nanoTime();
                    boolean cached = features.get(featureKey(img)) != null;
                    f = featuresFor(img, h);
                    visionMs = cached ? 0 : (System.nanoTime() - v0) / 1e6;
                }
                Fitted fit = fitToContext(request, f);
                if (fit.dropped() > 0) {
                    listener.onNotice("The conversation is longer than the model's context of " + fit.context() + " tokens: the oldest "
                            + (fit.dropped() == 1 ? "exchange was" : fit.dropped() + " exchanges were") + " left out of this answer.");
                }
                TokenListener tl = new TokenListener() {
                    @Override
                    public void onToken(int id, String textDelta) {
                        listener.onText(textDelta);
                    }

                    @Override
                    public void onStage(Stage stage, double progress) {
                        listener.onStage(stage, progress);
                    }
                };
                GenerationResult r = model.generate(conversation, fit.ids(), f, request.generation(), tl, h.cancelCheck(),
                        new Timings(img != null ? img.preprocessMs() : 0, visionMs, 0, 0, 0, 0), start);
                h.future().complete(r);
            } catch (CancellationException e) {
                h.future().complete(cancelledBeforeStart());
            } catch (RuntimeException e) {
                h.future().completeExceptionally(e);
            } finally {
                setState(SessionState.READY);
            }
        });
        return h;
    }

    /** The prompt of the turns kept, its ids, how many of the oldest turns were left out, and the context. */
    private record Fitted(ConversationPrompt prompt, int[] ids, int dropped, int context) {
    }

    /**
     * The prompt, dropping the oldest turns when the conversation plus the answer would not fit the
     * model's context (max_position_embeddings); the image stays with the first turn kept. A single
     * question too long for the context is an error that says so.
     */
    private Fitted fitToContext(ChatRequest request, ImageFeatures f) {
        int context = model.config().llm().maxPositionEmbeddings();
        int imageTokens = f == null ? 0 : f.tokens() - 1;
        List<Turn> turns = request.turns();
        for (int drop = 0; drop < turns.size(); drop++) {
            ChatRequest kept = new ChatRequest(turns.subList(drop, turns.size()), request.systemPrompt(), request.generation());
            ConversationPrompt prompt = ConversationPrompt.of(kept, f != null);
            int[] ids = prompt.inputIds(model.tokenizer());
            int needed = ids.length + imageTokens + 1;
            if (needed <= context) {
                return new Fitted(prompt, ids, drop, context);
            }
        }
        int[] last = ConversationPrompt.of(request, f != null).inputIds(model.tokenizer());
        throw new ConvLlavaException("the question is too long: with the image it needs " + (last.length + imageTokens)
                + " tokens but the model's context is " + context + " tokens; shorten it");
    }

    private static GenerationResult cancelledBeforeStart() {
        return new GenerationResult("", new int[0], FinishReason.CANCELLED, 0, 0, 0, Timings.NONE, 0, List.of(), null);
    }

    @Override
    public TaskHandle<DraftResult> readDraft(ChatRequest draft) {
        long number = drafts.incrementAndGet();
        long requestsBefore = requests.get();
        SimpleTaskHandle<DraftResult> h = new SimpleTaskHandle<>(() -> requests.get() != requestsBefore);
        try {
            inference.execute(() -> readDraftNow(draft, number, h)); // behind whatever is queued: an answer, a load, a pre-encode
        } catch (RejectedExecutionException e) {
            h.future().complete(DraftResult.skipped("the session is closed"));
        }
        return h;
    }

    /**
     * Prefills the draft if it is still the latest, nothing came since, the image is encoded and the
     * conversation fits; the turns left out are the ones an answer to it would leave out.
     */
    private void readDraftNow(ChatRequest draft, long number, SimpleTaskHandle<DraftResult> h) {
        if (drafts.get() != number) {
            h.future().complete(DraftResult.superseded("a newer draft came"));
            return;
        }
        if (h.isCancelled()) {
            h.future().complete(DraftResult.superseded("a request came first"));
            return;
        }
        if (model == null) {
            h.future().complete(DraftResult.skipped("no model is loaded"));
            return;
        }
        CurrentImage img = current;
        if (currentImageEpoch != imageEpoch.get()) {
            h.future().complete(DraftResult.skipped("the image is still being prepared"));
            return;
        }
        ImageFeatures f = img == null ? null : features.get(featureKey(img));
        if (img != null && f == null) {
            h.future().complete(DraftResult.skipped("the image is not encoded yet"));
            return;
        }
        int[] ids;
        try {
            ids = fitToContext(draft, f).prompt().draftIds(model.tokenizer());
        } catch (ConvLlavaException e) {
            h.future().complete(DraftResult.skipped("the conversation does not fit the context"));
            return;
        }
        DraftResult result;
        setState(SessionState.READING_DRAFT);
        try {
            int computed = model.prefill(conversation, ids, f, h.cancelCheck());
            result = DraftResult.read(ids.length + (f == null ? 0 : f.tokens() - 1), computed);
        } catch (CancellationException e) {
            result = DraftResult.superseded("a request came first");
        } catch (RuntimeException e) {
            LOG.warn("reading the draft failed: {}", e.getMessage());
            conversation.reset(); // the next answer prefills from scratch rather than trust a half-written cache
            result = DraftResult.skipped("reading failed: " + e.getMessage());
        } finally {
            setState(SessionState.READY);
        }
        h.future().complete(result); // after READY: whoever waits on the draft finds the session idle
    }

    @Override
    public void newConversation() {
        requests.incrementAndGet();
        inference.execute(() -> {
            if (conversation != null) {
                conversation.reset();
            }
        });
    }

    @Override
    public void close() {
        imageEpoch.incrementAndGet();
        requests.incrementAndGet();
        preview.shutdownNow();
        inference.execute(this::releaseModel);
        inference.shutdown();
        try {
            if (!inference.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("inference thread did not stop within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
