package ai.convllava.model.service;

import ai.convllava.model.ConvLlavaException;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.engine.LoadOptions;
import ai.convllava.model.generate.FinishReason;
import ai.convllava.model.generate.GenerationResult;
import ai.convllava.model.generate.Timings;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.image.CanvasGeometry;
import ai.convllava.model.image.CanvasMode;
import ai.convllava.model.image.ImagePreprocessor;
import ai.convllava.model.image.PreprocessedImage;
import ai.convllava.model.image.RgbImage;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The engine behind {@link VisionChatService}: one inference thread owns the model, the image
 * features (a small LRU keyed by canvas content, mode and model) and the conversation's KV cache.
 * A second, pure-Java thread preprocesses images for the preview so that a big photo shows at once
 * even while an answer is being written.
 */
public final class LocalVisionChatService implements VisionChatService {
    private static final Logger LOG = LoggerFactory.getLogger(LocalVisionChatService.class);
    /** Canvas used for the preview before any model is loaded (ConvLLaVA-1536's). */
    public static final int DEFAULT_CANVAS = 1536;
    static final int FEATURE_CACHE_SIZE = 4;

    private final ExecutorService inference = Executors.newSingleThreadExecutor(r -> daemon(r, "convllava-inference"));
    private final ExecutorService preview = Executors.newSingleThreadExecutor(r -> daemon(r, "convllava-preview"));
    private final List<Consumer<ServiceState>> stateListeners = new CopyOnWriteArrayList<>();
    private final AtomicLong imageEpoch = new AtomicLong();
    private volatile ServiceState state = ServiceState.NO_MODEL;
    private volatile ModelInfo modelInfo;
    private volatile ImagePreprocessor preprocessor = ImagePreprocessor.clip(DEFAULT_CANVAS);

    // owned by the inference thread
    private ConvLlava model;
    private Conversation conversation;
    private final Map<String, ImageFeatures> features = new LinkedHashMap<>(8, 0.75f, true);
    // the current image, written by the preview thread, read by the inference thread
    private volatile PreprocessedImage currentImage;
    private volatile double currentPreprocessMs;

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    @Override
    public TaskHandle<ModelInfo> loadModel(LoadOptions options, ProgressListener progress) {
        SimpleTaskHandle<ModelInfo> h = new SimpleTaskHandle<>();
        inference.execute(() -> {
            setState(ServiceState.LOADING);
            releaseModel();
            long t0 = System.nanoTime();
            try {
                model = ConvLlava.load(options, (stage, done, total, bytes, bytesTotal) ->
                        progress.progress("Loading " + stage + " (" + done + " / " + total + " tensors)",
                                bytesTotal > 0 ? (double) bytes / bytesTotal : -1), h.cancelCheck());
                conversation = model.newConversation(ConvLlava.INITIAL_CONTEXT);
                ImagePreprocessor pre = model.preprocessor();
                preprocessor = pre;
                modelInfo = new ModelInfo(model.folder().dir(), model.folder().dir().getFileName().toString(), pre.canvasSide(),
                        pre.stride(), model.visionTower().description(), model.deviceName(), model.weightFormat(), model.numLayers(),
                        model.config().llm().maxPositionEmbeddings(), (System.nanoTime() - t0) / 1e9);
                setState(ServiceState.READY);
                h.future().complete(modelInfo);
            } catch (CancellationException e) {
                releaseModel();
                setState(ServiceState.NO_MODEL);
                h.future().completeExceptionally(e);
            } catch (RuntimeException | OutOfMemoryError e) {
                releaseModel();
                LOG.warn("model load failed: {}", e.getMessage());
                setState(ServiceState.ERROR);
                h.future().completeExceptionally(e);
            }
        });
        return h;
    }

    private void releaseModel() {
        features.values().forEach(ImageFeatures::close);
        features.clear();
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
    public ServiceState state() {
        return state;
    }

    @Override
    public void addStateListener(Consumer<ServiceState> listener) {
        stateListeners.add(listener);
    }

    private void setState(ServiceState s) {
        state = s;
        for (Consumer<ServiceState> l : stateListeners) {
            l.accept(s);
        }
    }

    @Override
    public CanvasGeometry geometry(int width, int height, CanvasMode mode) {
        return preprocessor.geometry(width, height, mode);
    }

    @Override
    public TaskHandle<PreprocessedImage> setImage(RgbImage image, CanvasMode mode) {
        long epoch = imageEpoch.incrementAndGet();
        SimpleTaskHandle<PreprocessedImage> h = new SimpleTaskHandle<>(() -> imageEpoch.get() != epoch);
        preview.execute(() -> {
            if (h.isCancelled()) {
                h.future().completeExceptionally(new CancellationException("a newer image replaced this one"));
                return;
            }
            try {
                long t0 = System.nanoTime();
                PreprocessedImage pre = preprocessor.preprocess(image, mode);
                currentPreprocessMs = (System.nanoTime() - t0) / 1e6;
                currentImage = pre;
                inference.execute(() -> preEncode(pre, h)); // queued before the preview completes: a question asked after it finds the image encoded
                h.future().complete(pre);
            } catch (RuntimeException e) {
                h.future().completeExceptionally(e);
            }
        });
        return h;
    }

    /** Encodes the image and reads "system USER: <image>" into the cache while the user types. */
    private void preEncode(PreprocessedImage pre, SimpleTaskHandle<?> h) {
        if (model == null || h.isCancelled() || currentImage != pre) {
            return;
        }
        setState(ServiceState.ENCODING);
        try {
            ImageFeatures f = featuresFor(pre, h);
            int[] prefix = ConversationPrompt.imageQuestion("").imagePrefixIds(model.tokenizer());
            model.prefill(conversation, prefix, f, h.cancelCheck());
        } catch (CancellationException e) {
            LOG.debug("pre-encode cancelled");
        } catch (RuntimeException e) {
            LOG.warn("pre-encode failed: {}", e.getMessage());
        } finally {
            setState(ServiceState.READY);
        }
    }

    /** Features of this canvas from the LRU, or encoded now. */
    private ImageFeatures featuresFor(PreprocessedImage pre, SimpleTaskHandle<?> h) {
        String key = featureKey(pre);
        ImageFeatures f = features.get(key);
        if (f != null && !f.isClosed()) {
            return f;
        }
        f = model.encodeImage(pre, key, h.cancelCheck());
        features.put(key, f);
        while (features.size() > FEATURE_CACHE_SIZE) {
            String eldest = features.keySet().iterator().next();
            features.remove(eldest).close();
        }
        return f;
    }

    private String featureKey(PreprocessedImage pre) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(pre.canvas().rgb());
            return HexFormat.of().formatHex(md.digest()) + "/" + pre.geometry().canvasWidth() + "x" + pre.geometry().canvasHeight()
                    + "/" + (modelInfo != null ? modelInfo.folder() : "");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public TaskHandle<GenerationResult> ask(ChatRequest request, AnswerListener listener) {
        SimpleTaskHandle<GenerationResult> h = new SimpleTaskHandle<>();
        long start = System.nanoTime();
        inference.execute(() -> {
            if (h.isCancelled()) {
                h.future().complete(cancelledBeforeStart());
                return;
            }
            if (model == null) {
                h.future().completeExceptionally(new ConvLlavaException("no model is loaded: choose a ConvLLaVA model folder first"));
                return;
            }
            setState(ServiceState.GENERATING);
            try {
                PreprocessedImage pre = currentImage;
                ImageFeatures f = null;
                double visionMs = 0;
                if (pre != null) {
                    listener.onStage(TokenListener.Stage.ENCODING_IMAGE, -1);
                    long v0 = System.nanoTime();
                    boolean cached = features.containsKey(featureKey(pre));
                    f = featuresFor(pre, h);
                    visionMs = cached ? 0 : (System.nanoTime() - v0) / 1e6;
                }
                int[] ids = fitToContext(request, f, listener);
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
                GenerationResult r = model.generate(conversation, ids, f, request.generation(), tl, h.cancelCheck(),
                        new Timings(pre != null ? currentPreprocessMs : 0, visionMs, 0, 0, 0, 0), start);
                h.future().complete(r);
            } catch (CancellationException e) {
                h.future().complete(cancelledBeforeStart());
            } catch (RuntimeException e) {
                h.future().completeExceptionally(e);
            } finally {
                setState(ServiceState.READY);
            }
        });
        return h;
    }

    /**
     * The prompt ids, dropping the oldest turns when the conversation plus the answer would not
     * fit the model's context (max_position_embeddings); the image stays with the first turn kept,
     * and the listener is told how many turns were left out. A single question too long for the
     * context is an error that says so.
     */
    private int[] fitToContext(ChatRequest request, ImageFeatures f, AnswerListener listener) {
        int context = model.config().llm().maxPositionEmbeddings();
        int imageTokens = f == null ? 0 : f.tokens() - 1;
        List<ConversationPrompt.Turn> turns = request.turns();
        for (int drop = 0; drop < turns.size(); drop++) {
            ChatRequest kept = new ChatRequest(turns.subList(drop, turns.size()), request.systemPrompt(), request.generation());
            int[] ids = kept.prompt(f != null).inputIds(model.tokenizer());
            int needed = ids.length + imageTokens + 1;
            if (needed <= context) {
                if (drop > 0) {
                    listener.onNotice("The conversation is longer than the model's context of " + context + " tokens: the oldest "
                            + (drop == 1 ? "exchange was" : drop + " exchanges were") + " left out of this answer.");
                }
                return ids;
            }
        }
        int[] last = request.prompt(f != null).inputIds(model.tokenizer());
        throw new ConvLlavaException("the question is too long: with the image it needs " + (last.length + imageTokens)
                + " tokens but the model's context is " + context + " tokens; shorten it");
    }

    private static GenerationResult cancelledBeforeStart() {
        return new GenerationResult("", new int[0], FinishReason.CANCELLED, 0, 0, 0, new Timings(0, 0, 0, 0, 0, 0), 0, List.of(), null);
    }

    @Override
    public void newConversation() {
        inference.execute(() -> {
            if (conversation != null) {
                conversation.reset();
            }
        });
    }

    @Override
    public void close() {
        imageEpoch.incrementAndGet();
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
