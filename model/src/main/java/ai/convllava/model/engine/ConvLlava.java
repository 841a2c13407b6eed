package ai.convllava.model.engine;

import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.config.LlavaConfig;
import ai.convllava.model.config.ModelFolder;
import ai.convllava.model.config.VisionTower;
import ai.convllava.model.diagnostics.JavaHeap;
import ai.convllava.model.diagnostics.NativeHeap;
import ai.convllava.model.generate.DeviceSampler;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.image.ImagePreprocessor;
import ai.convllava.model.nn.ComputePath;
import ai.convllava.model.nn.ConvNextEncoder;
import ai.convllava.model.nn.DeviceMemory;
import ai.convllava.model.nn.ImageAttentionProbe;
import ai.convllava.model.nn.LlamaForCausalLM;
import ai.convllava.model.nn.MlpProjector;
import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.WeightSource;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/**
 * The whole ConvLLaVA model: ConvNeXt encoder (with the fifth stage), {@code mlp2x_gelu} projector
 * and the LLaMA decoder, plus its tokenizer and image preprocessor ({@link ModelLoader} builds it).
 * Encodes images, reads prompts into a {@link Conversation}'s KV cache and answers
 * ({@link AnswerGenerator}). Not thread-safe: one inference thread owns it and all its native state
 * (DJL's NDScope is thread-local).
 */
public final class ConvLlava implements AutoCloseable {
    public static final int IMAGE_TOKEN_INDEX = -200;
    /** KV-cache positions a conversation starts with (it grows by doubling up to max_position_embeddings). */
    public static final int INITIAL_CONTEXT = VisionChatSession.INITIAL_CACHE_TOKENS;
    /**
     * New positions from which a prompt's read starts with the C heap trimmed: an image's prefix (hundreds of tokens)
     * runs libtorch's big temporaries; a question of a few dozen tokens does not, and a trim would only cost it time.
     */
    static final int TRIM_BEFORE_TOKENS = 128;

    private final NDManager manager;
    private final ModelFolder folder;
    private final VisionTower tower;
    private final ConvNextEncoder encoder;
    private final MlpProjector projector;
    private final LlamaForCausalLM llm;
    private final TextTokenizer tokenizer;
    private final ImagePreprocessor preprocessor;
    private final PromptEmbedder embedder;
    private final WeightFormat weightFormat;
    private final String deviceName;
    private final ComputePath computePath;
    private final Set<String> unusedKeys;
    /** Weight sources a streamed model reads from (tower blocks per image, embedding rows per token); closed with the model. */
    private final List<WeightSource> ownedSources = new ArrayList<>();

    ConvLlava(NDManager manager, ModelFolder folder, VisionTower tower, ConvNextEncoder encoder, MlpProjector projector,
              LlamaForCausalLM llm, TextTokenizer tokenizer, WeightFormat weightFormat, String deviceName, ComputePath computePath,
              Set<String> unusedKeys) {
        this.manager = manager;
        this.folder = folder;
        this.tower = tower;
        this.encoder = encoder;
        this.projector = projector;
        this.llm = llm;
        this.tokenizer = tokenizer;
        this.weightFormat = weightFormat;
        this.deviceName = deviceName;
        this.computePath = computePath;
        this.unusedKeys = Set.copyOf(unusedKeys);
        this.preprocessor = new ImagePreprocessor(tower.preprocessor().canvasSide(), tower.preprocessor().mean(),
                tower.preprocessor().std(), tower.config().stride());
        this.embedder = new PromptEmbedder(llm.model(), manager, folder.config().llm().vocabSize());
    }

    /** Keeps {@code source} open for as long as the model lives (a streamed model reads it again), then closes it. */
    void own(WeightSource source) {
        ownedSources.add(source);
    }

    public TextTokenizer tokenizer() {
        return tokenizer;
    }

    public ImagePreprocessor preprocessor() {
        return preprocessor;
    }

    public VisionTower visionTower() {
        return tower;
    }

    public ModelFolder folder() {
        return folder;
    }

    public LlavaConfig config() {
        return folder.config();
    }

    public WeightFormat weightFormat() {
        return weightFormat;
    }

    public String deviceName() {
        return deviceName;
    }

    /** The CPU path or the device path (a GPU, or the CPU device forced onto the GPU's code), and its math type. */
    public ComputePath computePath() {
        return computePath;
    }

    /** The device the weights, features and caches live on. */
    public ai.djl.Device device() {
        return manager.getDevice();
    }

    public int numLayers() {
        return llm.model().numLayers();
    }

    /** Checkpoint keys the model did not use (after expected ones such as the encoder's final norm). */
    public Set<String> unusedKeys() {
        return unusedKeys;
    }

    PromptEmbedder embedder() {
        return embedder;
    }

    /** Whether the vision tower's block weights stay in memory or are read for each image. */
    public TowerMemory towerMemory() {
        return encoder.streamed() ? TowerMemory.STREAMED : TowerMemory.RESIDENT;
    }

    /** Whether the token embeddings are read from the checkpoint per token (a streamed model). */
    boolean embeddingsStreamed() {
        return llm.model().embedTokens().streamed();
    }

    private NDArray pixels(PreprocessedImage image) {
        int w = image.geometry().canvasWidth();
        int h = image.geometry().canvasHeight();
        return manager.create(image.pixelValues(), new Shape(1, 3, h, w));
    }

    /**
     * Runs the vision tower and projector; the features live until closed.
     *
     * @param key the image's identity for cache reuse (content hash + mode + model), or null for a unique one
     */
    public ImageFeatures encodeImage(PreprocessedImage image, String key, BooleanSupplier cancelled) {
        NDManager fm = manager.newSubManager();
        try (NDScope scope = new NDScope()) {
            long t0 = System.nanoTime();
            // The allocator keeps what earlier encodes and prompts freed (NativeHeap), scattered so that each new
            // encode spreads over more of it: a session's second image peaked 0.7 GB higher than its first. Giving
            // it back first makes every encode start where the first did; the pages it touches again are counted
            // in the tower's time.
            settleMemoryBefore("a vision encode", false);
            NDArray features = encoder.forward(pixels(image), cancelled); // (1, N, C_last)
            long t1 = System.nanoTime();
            NDArray projected = projector.forward(features); // (1, N, hidden)
            projected.attach(fm);
            NDScope.unregister(projected);
            double towerMs = (t1 - t0) / 1e6;
            double projectorMs = (System.nanoTime() - t1) / 1e6;
            return new ImageFeatures(fm, projected, image.geometry(), key != null ? key : UUID.randomUUID().toString(), towerMs, projectorMs);
        } catch (RuntimeException e) {
            fm.close();
            throw e;
        }
    }

    public Conversation newConversation(int expectedTokens) {
        return new Conversation(llm.newCache(expectedTokens));
    }

    /**
     * Feeds a prompt into the conversation's cache without generating: used to pre-encode the part
     * that does not depend on the question ("system USER: &lt;image&gt;") and to read a question while
     * it is typed. Whatever the cache already holds of it is kept (a cache that holds the whole prompt,
     * and more, is left as it is); no logits are computed. Cancellation is polled between layers and
     * leaves the cache at the reused prefix.
     *
     * @return the positions computed (the rest of the prompt was already in the cache)
     */
    public int prefill(Conversation conv, int[] inputIds, ImageFeatures image, BooleanSupplier cancelled) {
        List<Conversation.Slot> want = embedder.slotsOf(inputIds, image);
        conv.checkFits(want);
        int common = conv.commonPrefix(want);
        if (common == want.size()) {
            return 0;
        }
        try (NDScope scope = new NDScope()) {
            conv.truncate(common);
            llm.model().forward(embedder.embed(want, common, image), conv.cache, null, cancelled);
            conv.slots.addAll(want.subList(common, want.size()));
            return want.size() - common;
        }
    }

    /**
     * Generates an answer for {@code inputIds} (the whole conversation so far, with -200 for the
     * image), reusing whatever the conversation's cache already holds ({@link AnswerGenerator}).
     *
     * @param prior             preprocess / vision time already spent on this request (ms), for the timings
     * @param requestStartNanos when the user asked (System.nanoTime()), for time to first token
     */
    public GenerationResult generate(Conversation conv, int[] inputIds, ImageFeatures image, GenerationConfig cfg,
                                     TokenListener listener, BooleanSupplier cancelled, Timings prior, long requestStartNanos) {
        return new AnswerGenerator(this, conv, inputIds.length, cfg, listener, cancelled).run(inputIds, image, prior, requestStartNanos);
    }

    /**
     * Next-token logits after one step, how many of the prompt's positions came from the cache, and
     * the step's attention over the image when a probe recorded it.
     */
    record Fed(float[] logits, NDArray deviceLogits, int reused, float[][] attention) {
        /** The logits on the host: the CPU path's, or the device path's copied (tests only). */
        float[] hostLogits() {
            if (logits != null) {
                return logits;
            }
            try (NDArray d = deviceLogits) {
                return d.toFloatArray();
            }
        }
    }

    /** The next-token logits after {@code embeds}: a Java array on the CPU path, left on the device on the device path. */
    private Fed forward(NDArray embeds, Conversation conv, int reused, ImageAttentionProbe probe, BooleanSupplier cancelled) {
        if (computePath.deviceOps()) {
            NDArray logits = llm.forwardOnDevice(embeds, conv.cache, probe, cancelled);
            try {
                return new Fed(null, logits, reused, probe == null ? null : probe.values());
            } catch (RuntimeException | Error e) {
                logits.close();
                throw e;
            }
        }
        float[] logits = llm.forward(embeds, conv.cache, probe, cancelled);
        return new Fed(logits, null, reused, probe == null ? null : probe.values());
    }

    /** A sampler that picks on the device, with {@code seen} (the prompt's ids) for the repetition penalty (device path). */
    DeviceSampler deviceSampler(GenerationConfig cfg, long seed, int[] seen, int seenCount) {
        return new DeviceSampler(cfg, seed, manager, config().llm().vocabSize(), seen, seenCount);
    }

    /** Reuses the longest cached prefix of {@code want}, prefills the rest (at least the last position) and returns its logits. */
    Fed feed(Conversation conv, List<Conversation.Slot> want, ImageFeatures image, ImageAttentionProbe probe, BooleanSupplier cancelled) {
        conv.checkFits(want);
        int common = conv.commonPrefix(want);
        if (common == want.size()) {
            common--; // at least the last position is recomputed: we need its logits
        }
        try (NDScope scope = new NDScope()) {
            conv.truncate(common);
            if (want.size() - common >= TRIM_BEFORE_TOKENS && !computePath.deviceOps()) {
                // as before a vision encode: what earlier work freed is handed back, so the prompt's temporaries are
                // not counted on top of freed memory the allocator still holds elsewhere (a draft's read of an image's
                // prefix held more C heap than the same read right after the encode)
                settleMemoryBefore("reading " + (want.size() - common) + " prompt positions", true);
            }
            Fed fed = forward(embedder.embed(want, common, image), conv, common, probe, cancelled);
            conv.slots.addAll(want.subList(common, want.size()));
            return fed;
        } finally {
            if (probe != null) {
                probe.release();
            }
        }
    }

    /** Reads one generated token into the cache and returns the logits after it. */
    Fed decodeStep(Conversation conv, int token, ImageAttentionProbe probe, BooleanSupplier cancelled) {
        try (NDScope scope = new NDScope()) {
            Fed fed = forward(embedder.embedToken(token), conv, 0, probe, cancelled);
            conv.slots.add(Conversation.Slot.token(token));
            return fed;
        } finally {
            if (probe != null) {
                probe.release();
            }
        }
    }

    /**
     * Before a big step: the C heap's freed memory handed back ({@link NativeHeap}) and, under the launchers' collector,
     * the Java heap collected ({@link JavaHeap#collectBefore}), so the step's temporaries are not counted on top of what
     * earlier work left. {@code quiet}: logged at debug level only (steps that come several times per image).
     */
    private static void settleMemoryBefore(String what, boolean quiet) {
        if (quiet) {
            NativeHeap.trimQuietly("before " + what);
        } else {
            NativeHeap.trim("before " + what);
        }
        JavaHeap.collectBefore(what);
    }

    // ---- the stages one at a time, for the fidelity tests against the Python reference -----------

    /** Encoder output before the projector, (N, C_last) row-major. */
    public float[] visionFeatures(PreprocessedImage image) {
        try (NDScope scope = new NDScope()) {
            return encoder.forward(pixels(image), () -> false).toFloatArray();
        }
    }

    /** Prompt embeddings with the image features spliced at the -200 position: (1, T + N - 1, hidden), float32. */
    public float[] inputsEmbeds(int[] inputIds, ImageFeatures image) {
        try (NDScope scope = new NDScope()) {
            return embedder.embed(embedder.slotsOf(inputIds, image), 0, image).toFloatArray();
        }
    }

    /** Prefills the prompt (reusing the cache) and returns the next-token logits after it. */
    public float[] prefillLogits(Conversation conv, int[] inputIds, ImageFeatures image) {
        return feed(conv, embedder.slotsOf(inputIds, image), image, null, () -> false).hostLogits();
    }

    /** NDArrays alive under this model's manager (weights, caches, features, leaks): for leak checks. */
    public long liveArrayCount() {
        return manager.getManagedArrays().size();
    }

    @Override
    public void close() {
        ai.djl.Device device = manager.getDevice();
        manager.close();
        DeviceMemory.releaseCached(device); // a GPU's memory back to the driver (the caching allocator keeps it otherwise)
        tokenizer.close();
        ownedSources.forEach(WeightSource::close);
    }
}
