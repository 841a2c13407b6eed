package ai.convllava.model.engine;

import ai.convllava.model.api.Stage;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.TowerMemory;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.checkpoint.WeightSource;
import ai.convllava.model.config.LlavaConfig;
import ai.convllava.model.config.ModelFolder;
import ai.convllava.model.config.VisionTower;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.Sampler;
import ai.convllava.model.api.Timings;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.image.ImagePreprocessor;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.nn.ConvNextEncoder;
import ai.convllava.model.nn.ImageAttentionProbe;
import ai.convllava.model.nn.LlamaForCausalLM;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.nn.MlpProjector;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.nn.Weights;
import ai.convllava.model.reliability.MemoryEstimate;
import ai.convllava.model.tokenizer.StreamingDetokenizer;
import ai.convllava.model.tokenizer.TextTokenizer;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * The whole ConvLLaVA model: ConvNeXt encoder (with the fifth stage), {@code mlp2x_gelu} projector
 * and the LLaMA decoder, plus its tokenizer and image preprocessor. Not thread-safe: one inference
 * thread owns it and all its native state (DJL's NDScope is thread-local).
 */
public final class ConvLlava implements AutoCloseable {
    public static final int IMAGE_TOKEN_INDEX = -200;
    /** KV-cache positions a conversation starts with (it grows by doubling up to max_position_embeddings). */
    public static final int INITIAL_CONTEXT = 1024;
    private static final Logger LOG = LoggerFactory.getLogger(ConvLlava.class);

    private final NDManager manager;
    private final ModelFolder folder;
    private final VisionTower tower;
    private final ConvNextEncoder encoder;
    private final MlpProjector projector;
    private final LlamaForCausalLM llm;
    private final TextTokenizer tokenizer;
    private final ImagePreprocessor preprocessor;
    private final WeightFormat weightFormat;
    private final String deviceName;
    private final Set<String> unusedKeys;
    /** Weight sources a streamed model reads from (tower blocks per image, embedding rows per token); closed with the model. */
    private final List<WeightSource> ownedSources = new ArrayList<>();

    private ConvLlava(NDManager manager, ModelFolder folder, VisionTower tower, ConvNextEncoder encoder, MlpProjector projector,
                      LlamaForCausalLM llm, TextTokenizer tokenizer, WeightFormat weightFormat, String deviceName, Set<String> unusedKeys) {
        this.manager = manager;
        this.folder = folder;
        this.tower = tower;
        this.encoder = encoder;
        this.projector = projector;
        this.llm = llm;
        this.tokenizer = tokenizer;
        this.weightFormat = weightFormat;
        this.deviceName = deviceName;
        this.unusedKeys = unusedKeys;
        this.preprocessor = new ImagePreprocessor(tower.preprocessor().canvasSide(), tower.preprocessor().mean(),
                tower.preprocessor().std(), tower.config().stride());
    }

    /**
     * Loads a ConvLLaVA-sft folder (bf16 .bin or safetensors shards), its vision tower and tokenizer.
     * Everything is validated before any native call; progress goes to {@code listener} after each
     * tensor and {@code cancelled} is polled between tensors.
     */
    public static ConvLlava load(LoadOptions o, LoadListener listener, BooleanSupplier cancelled) {
        ModelFolder folder = ModelFolder.open(o.modelDir());
        WeightSource main = ShardedCheckpoint.open(folder.dir());
        WeightSource towerWeights = null;
        TextTokenizer tokenizer = null;
        ConvLlava built = null;
        try {
            VisionTower tower = resolveTower(folder, main, o);
            LOG.info(tower.description());
            towerWeights = tower.source() == VisionTower.Source.SEPARATE_FOLDER ? ShardedCheckpoint.open(tower.folder()) : main;
            tokenizer = TextTokenizer.open(folder.dir());
            built = build(folder, tower, towerWeights, main, tokenizer, o, listener, cancelled);
            if (built.encoder.streamed()) {
                built.ownedSources.add(towerWeights); // read again for every image; closed with the model
                if (towerWeights != main) {
                    built.ownedSources.add(main); // the token embeddings' rows are read when used
                }
            }
            return built;
        } catch (RuntimeException | Error e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            throw e;
        } finally {
            boolean streamed = built != null && built.encoder.streamed(); // both sources stay open, owned by the model
            if (towerWeights != null && towerWeights != main && !streamed) {
                towerWeights.close();
            }
            if (!streamed) {
                main.close();
            }
        }
    }

    /**
     * Builds the model from weight sources (checkpoint files, or synthetic weights for the
     * benchmark). The sources are read, not closed; the tokenizer is owned by the model from here on.
     */
    public static ConvLlava build(ModelFolder folder, VisionTower tower, WeightSource towerWeights, WeightSource main,
                                  TextTokenizer tokenizer, LoadOptions o, LoadListener listener, BooleanSupplier cancelled) {
        LlavaConfig cfg = folder.config();
        NDManager manager = null;
        try {
            if (tokenizer.vocabSize() > cfg.llm().vocabSize()) {
                throw new ConvLlavaException(tokenizer.describe() + " has " + tokenizer.vocabSize() + " tokens but " + cfg.file()
                        + " says vocab_size=" + cfg.llm().vocabSize() + ": tokenizer and weights do not belong together");
            }
            ai.djl.Device device = pickDevice(o.device());
            boolean gpu = device.isGpu();
            long llmParams = (long) cfg.llm().vocabSize() * cfg.llm().hiddenSize() * 2
                    + (long) cfg.llm().numHiddenLayers() * (4L * cfg.llm().hiddenSize() * cfg.llm().hiddenSize()
                    + 3L * cfg.llm().hiddenSize() * cfg.llm().intermediateSize());
            WeightFormat format = gpu ? WeightFormat.F16 : o.weightFormat() != null ? o.weightFormat() : WeightFormat.auto(llmParams);
            TowerMemory towerMemory = gpu ? TowerMemory.RESIDENT : o.towerMemory();
            if (!gpu && o.layerLimit() == 0 && !Boolean.getBoolean("convllava.skipMemoryCheck")) {
                // predicted from the configs before a byte is allocated: a clear message instead of an OOM kill mid-load
                int context = Math.min(INITIAL_CONTEXT, cfg.llm().maxPositionEmbeddings());
                java.util.function.Function<Boolean, MemoryEstimate.Check> estimate = streamTower -> MemoryEstimate.of(cfg.llm(),
                        cfg.mmHiddenSize(), tower.config(), tower.preprocessor().canvasSide(), format, context, streamTower).check();
                MemoryEstimate.Check check = estimate.apply(towerMemory == TowerMemory.STREAMED);
                if (!check.fits() && towerMemory == TowerMemory.AUTO) {
                    MemoryEstimate.Check streamed = estimate.apply(true);
                    if (streamed.fits()) {
                        LOG.info("memory: the whole model does not fit ({}); the vision tower and the token embeddings will be streamed",
                                check.message());
                        towerMemory = TowerMemory.STREAMED;
                    }
                    check = streamed;
                }
                LOG.info("memory: {}", check.message());
                if (!check.fits()) {
                    throw new ConvLlavaException(check.message() + " (to try anyway, start with -Dconvllava.skipMemoryCheck=true)");
                }
            }
            boolean streamTower = towerMemory == TowerMemory.STREAMED;
            manager = NDManager.newBaseManager(device);

            List<String> towerKeys = ConvNextEncoder.keys(tower.weightPrefix(), tower.config());
            Weights tw = new Weights(towerWeights, manager, format, "vision tower", towerKeys, listener, cancelled);
            ConvNextEncoder encoder = new ConvNextEncoder(tw, tower.weightPrefix(), tower.config(), streamTower);

            List<String> llmKeys = new ArrayList<>(MlpProjector.keys());
            llmKeys.addAll(LlamaForCausalLM.keys(cfg.llm(), o.layerLimit()));
            Weights lw = new Weights(main, manager, format, "language model", llmKeys, listener, cancelled);
            MlpProjector projector = new MlpProjector(lw, tower.config().outputSize(), cfg.llm().hiddenSize());
            // a streamed model also leaves the token embeddings in the checkpoint (262 MB at 7B, f16)
            LlamaForCausalLM llm = new LlamaForCausalLM(lw, cfg.llm(), manager, o.layerLimit(), gpu ? DataType.FLOAT16 : DataType.FLOAT32,
                    streamTower);

            Set<String> unused = new TreeSet<>(main.unusedKeys());
            if (towerWeights != main) {
                unused.removeIf(k -> k.startsWith(VisionTower.EMBEDDED_PREFIX)); // superseded by the tower folder
                unused.addAll(towerWeights.unusedKeys());
            }
            unused.removeIf(k -> k.startsWith(VisionTower.EMBEDDED_PREFIX + "layernorm.")); // ConvLLaVA skips the final norm
            if (o.layerLimit() == 0 && !unused.isEmpty()) {
                LOG.warn("{} checkpoint tensors were not used: {}", unused.size(), unused.size() > 12 ? List.copyOf(unused).subList(0, 12) + " ..." : unused);
            }
            String deviceName = gpu ? "GPU " + device : "CPU (" + Runtime.getRuntime().availableProcessors() + " cores, PyTorch "
                    + Engine.getInstance().getVersion() + ")";
            LOG.info("loaded {} on {}: LLM weights {}, {} layers", folder.dir(), deviceName, format, llm.model().numLayers());
            ConvLlava model = new ConvLlava(manager, folder, tower, encoder, projector, llm, tokenizer, format, deviceName, unused);
            // loading went through GBs of short-lived Java buffers (widening chunks, headers): one collection
            // now lets G1 give the heap back (measured at 1536: 488 -> 80 MB committed) instead of keeping it
            System.gc();
            return model;
        } catch (RuntimeException | Error e) {
            if (manager != null) {
                manager.close();
            }
            throw e;
        }
    }

    private static VisionTower resolveTower(ModelFolder folder, WeightSource main, LoadOptions o) {
        if (o.visionTower() != null) {
            if (!java.nio.file.Files.isDirectory(o.visionTower())) {
                throw new ConvLlavaException("vision tower folder " + o.visionTower() + " does not exist");
            }
            return folder.separateTower(o.visionTower().toAbsolutePath().normalize(), "given with --vision-tower");
        }
        return folder.findVisionTowerFolder(System.getenv(), java.nio.file.Path.of(System.getProperty("user.home")))
                .map(p -> folder.separateTower(p, "found for mm_vision_tower=" + folder.config().mmVisionTower()))
                .orElseGet(() -> folder.embeddedTower(main, o.canvasOverride()));
    }

    private static ai.djl.Device pickDevice(Device d) {
        int gpus = Engine.getInstance().getGpuCount();
        if (d == Device.GPU && gpus == 0) {
            throw new ConvLlavaException("a GPU was requested but DJL/PyTorch reports no CUDA device on this machine; choose CPU or Auto");
        }
        return d != Device.CPU && gpus > 0 ? ai.djl.Device.gpu() : ai.djl.Device.cpu();
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

    public int numLayers() {
        return llm.model().numLayers();
    }

    /** Checkpoint keys the model did not use (after expected ones such as the encoder's final norm). */
    public Set<String> unusedKeys() {
        return Set.copyOf(unusedKeys);
    }

    /** Encoder output before the projector, (N, C_last) row-major; for tests. */
    public float[] visionFeatures(PreprocessedImage image) {
        try (NDScope scope = new NDScope()) {
            return encoder.forward(pixels(image), () -> false).toFloatArray();
        }
    }

    private NDArray pixels(PreprocessedImage image) {
        int w = image.geometry().canvasWidth();
        int h = image.geometry().canvasHeight();
        return manager.create(image.pixelValues(), new Shape(1, 3, h, w));
    }

    /** Runs the vision tower and projector; the features live until closed. */
    public ImageFeatures encodeImage(PreprocessedImage image, String key, BooleanSupplier cancelled) {
        NDManager fm = manager.newSubManager();
        try (NDScope scope = new NDScope()) {
            NDArray features = encoder.forward(pixels(image), cancelled); // (1, N, C_last)
            NDArray projected = projector.forward(features); // (1, N, hidden)
            projected.attach(fm);
            NDScope.unregister(projected);
            return new ImageFeatures(fm, projected, image.geometry(), key != null ? key : UUID.randomUUID().toString());
        } catch (RuntimeException e) {
            fm.close();
            throw e;
        }
    }

    public Conversation newConversation(int expectedTokens) {
        return new Conversation(llm.newCache(expectedTokens));
    }

    /** Prompt embeddings with the image features spliced at the -200 position: (1, T + N - 1, hidden), float32. */
    public float[] inputsEmbeds(int[] inputIds, ImageFeatures image) {
        try (NDScope scope = new NDScope()) {
            return embed(slotsOf(inputIds, image), 0, image).toFloatArray();
        }
    }

    private List<Conversation.Slot> slotsOf(int[] ids, ImageFeatures image) {
        List<Conversation.Slot> slots = new ArrayList<>(ids.length + (image == null ? 0 : image.tokens()));
        boolean seen = false;
        for (int id : ids) {
            if (id == IMAGE_TOKEN_INDEX) {
                if (image == null) {
                    throw new ConvLlavaException("the prompt has an <image> placeholder but no image was given");
                }
                if (seen) {
                    throw new ConvLlavaException("the prompt has more than one <image> placeholder; ConvLLaVA takes one image");
                }
                seen = true;
                for (int i = 0; i < image.tokens(); i++) {
                    slots.add(Conversation.Slot.image(image.key(), i));
                }
            } else {
                if (id < 0 || id >= config().llm().vocabSize()) {
                    throw new ConvLlavaException("token id " + id + " is outside the vocabulary (" + config().llm().vocabSize() + ")");
                }
                slots.add(Conversation.Slot.token(id));
            }
        }
        return slots;
    }

    /** Embeddings (1, n, hidden) for slots[from:]; runs of tokens are embedded, image runs copied from the features. */
    private NDArray embed(List<Conversation.Slot> slots, int from, ImageFeatures image) {
        NDList parts = new NDList();
        int i = from;
        while (i < slots.size()) {
            Conversation.Slot s = slots.get(i);
            int j = i;
            if (s.imageKey() == null) {
                while (j < slots.size() && slots.get(j).imageKey() == null) {
                    j++;
                }
                int[] ids = new int[j - i];
                for (int k = i; k < j; k++) {
                    ids[k - i] = slots.get(k).token();
                }
                parts.add(llm.model().embed(manager, ids));
            } else {
                while (j < slots.size() && slots.get(j).imageKey() != null) {
                    j++;
                }
                int a = s.index();
                int b = a + (j - i);
                parts.add(image.projected().get(new ai.djl.ndarray.index.NDIndex(":, {}:{}, :", a, b))); // (1, b-a, hidden)
            }
            i = j;
        }
        return parts.size() == 1 ? parts.get(0) : ai.djl.ndarray.NDArrays.concat(parts, 1);
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
        List<Conversation.Slot> want = slotsOf(inputIds, image);
        checkFits(conv, want);
        int common = commonPrefix(conv, want);
        if (common == want.size()) {
            return 0;
        }
        try (NDScope scope = new NDScope()) {
            conv.truncate(common);
            llm.model().forward(embed(want, common, image), conv.cache, null, cancelled);
            conv.slots.addAll(want.subList(common, want.size()));
            return want.size() - common;
        }
    }

    /** Prefills the prompt (reusing the cache) and returns the next-token logits after it. */
    public float[] prefillLogits(Conversation conv, int[] inputIds, ImageFeatures image) {
        try (NDScope scope = new NDScope()) {
            return feed(conv, slotsOf(inputIds, image), image, null, () -> false).logits();
        }
    }

    /** Next-token logits after a prompt, and how many of its positions came from the cache. */
    private record Fed(float[] logits, int reused) {
    }

    /** Reuses the longest cached prefix, prefills the rest (at least the last position); returns its logits. */
    private Fed feed(Conversation conv, List<Conversation.Slot> want, ImageFeatures image, ImageAttentionProbe probe,
                     BooleanSupplier cancelled) {
        checkFits(conv, want);
        int common = commonPrefix(conv, want);
        if (common == want.size()) {
            common--; // at least the last position is recomputed: we need its logits
        }
        conv.truncate(common);
        NDArray embeds = embed(want, common, image);
        float[] logits = llm.forward(embeds, conv.cache, probe, cancelled);
        conv.slots.addAll(want.subList(common, want.size()));
        return new Fed(logits, common);
    }

    private static void checkFits(Conversation conv, List<Conversation.Slot> want) {
        if (want.isEmpty()) {
            throw new ConvLlavaException("the prompt is empty");
        }
        if (want.size() > conv.maxTokens()) {
            throw new ConvLlavaException("the conversation needs " + want.size() + " tokens but the model's context is "
                    + conv.maxTokens() + " (max_position_embeddings)");
        }
    }

    /** How many leading positions of {@code want} the cache already holds. */
    private static int commonPrefix(Conversation conv, List<Conversation.Slot> want) {
        int common = 0;
        int max = Math.min(conv.slots.size(), want.size());
        while (common < max && conv.slots.get(common).equals(want.get(common))) {
            common++;
        }
        return common;
    }

    /**
     * Generates an answer for {@code inputIds} (the whole conversation so far, with -200 for the
     * image), reusing whatever the conversation's cache already holds. Cancellation is honoured
     * before every step and between layers of the prefill; it returns CANCELLED with the text so
     * far. Errors return ERROR with the message; the engine stays usable.
     *
     * @param prior            preprocess / vision time already spent on this request (ms), for the timings
     * @param requestStartNanos when the user asked (System.nanoTime()), for time to first token
     */
    public GenerationResult generate(Conversation conv, int[] inputIds, ImageFeatures image, GenerationConfig cfg,
                                     TokenListener listener, BooleanSupplier cancelled, Timings prior, long requestStartNanos) {
        Timings before = prior != null ? prior : new Timings(0, 0, 0, 0, 0, 0);
        long seed = cfg.seed() != null ? cfg.seed() : new java.util.Random().nextLong();
        Sampler sampler = Sampler.of(cfg, seed);
        StreamingDetokenizer detok = new StreamingDetokenizer(tokenizer);
        StringBuilder text = new StringBuilder();
        List<Integer> generated = new ArrayList<>();
        List<float[][]> attention = new ArrayList<>();
        List<Conversation.Slot> want = slotsOf(inputIds, image);
        int imageStart = -1;
        for (int i = 0; i < want.size(); i++) {
            if (want.get(i).imageKey() != null) {
                imageStart = i;
                break;
            }
        }
        boolean record = cfg.recordAttention() && imageStart >= 0;
        int imageTokens = image == null || imageStart < 0 ? 0 : image.tokens();
        double prefillMs = 0;
        int reused = 0;
        double ttft = 0;
        long decodeStart = 0;
        FinishReason reason;
        String error = null;
        int[] seen = new int[want.size() + cfg.maxNewTokens()];
        int seenCount = 0;
        for (int id : inputIds) {
            if (id >= 0) {
                seen[seenCount++] = id;
            }
        }
        try {
            if (cancelled.getAsBoolean()) {
                throw new CancellationException();
            }
            listener.onStage(Stage.READING_PROMPT, -1);
            long t0 = System.nanoTime();
            float[] logits;
            ImageAttentionProbe prefillProbe = record ? new ImageAttentionProbe(imageStart, imageTokens, numLayers()) : null;
            try (NDScope scope = new NDScope()) {
                Fed fed = feed(conv, want, image, prefillProbe, cancelled);
                logits = fed.logits();
                reused = fed.reused();
                if (prefillProbe != null) {
                    attention.add(prefillProbe.values());
                }
            } finally {
                if (prefillProbe != null) {
                    prefillProbe.release();
                }
            }
            prefillMs = (System.nanoTime() - t0) / 1e6;
            listener.onStage(Stage.WRITING_ANSWER, -1);
            reason = FinishReason.LENGTH;
            for (int step = 0; step < cfg.maxNewTokens(); step++) {
                if (cancelled.getAsBoolean()) {
                    reason = FinishReason.CANCELLED;
                    break;
                }
                Sampler.penalize(logits, seen, seenCount, cfg.repetitionPenalty());
                int next = sampler.sample(logits);
                if (step == 0) {
                    ttft = (System.nanoTime() - requestStartNanos) / 1e6;
                    decodeStart = System.nanoTime();
                }
                if (next == tokenizer.eosId()) {
                    reason = FinishReason.EOS;
                    break;
                }
                generated.add(next);
                seen[seenCount++] = next;
                String delta = detok.push(next);
                text.append(delta);
                listener.onToken(next, delta);
                if (step == cfg.maxNewTokens() - 1) {
                    break;
                }
                if (conv.cachedTokens() + 1 > conv.maxTokens()) {
                    break; // context full: LENGTH
                }
                ImageAttentionProbe probe = record ? new ImageAttentionProbe(imageStart, imageTokens, numLayers()) : null;
                try (NDScope scope = new NDScope()) {
                    NDArray e = llm.model().embed(manager, new int[] {next});
                    logits = llm.forward(e, conv.cache, probe, cancelled);
                    conv.slots.add(Conversation.Slot.token(next));
                    if (probe != null) {
                        attention.add(probe.values());
                    }
                } finally {
                    if (probe != null) {
                        probe.release();
                    }
                }
            }
        } catch (CancellationException e) {
            reason = FinishReason.CANCELLED;
        } catch (ConvLlavaException | IllegalStateException | IllegalArgumentException e) {
            reason = FinishReason.ERROR;
            error = e.getMessage();
        } catch (ai.djl.engine.EngineException e) {
            reason = FinishReason.ERROR;
            error = "inference failed in PyTorch: " + e.getMessage();
            conv.reset();
        }
        String tail = detok.flush();
        if (!tail.isEmpty()) {
            text.append(tail);
            listener.onToken(-1, tail);
        }
        double decodeMs = decodeStart == 0 ? 0 : (System.nanoTime() - decodeStart) / 1e6;
        int decoded = Math.max(0, generated.size() - 1);
        Timings t = new Timings(before.preprocessMs(), before.visionEncodeMs(), prefillMs, ttft, decodeMs, decoded);
        int[] ids = generated.stream().mapToInt(Integer::intValue).toArray();
        return new GenerationResult(text.toString(), ids, reason, want.size(), reused, imageTokens, t, seed, attention, error);
    }

    /** NDArrays alive under this model's manager (weights, caches, features, leaks): for leak tests. */
    public long liveArrayCount() {
        return manager.getManagedArrays().size();
    }

    /** Whether the vision tower's block weights stay in memory or are read for each image. */
    public TowerMemory towerMemory() {
        return encoder.streamed() ? TowerMemory.STREAMED : TowerMemory.RESIDENT;
    }

    /** Whether the token embeddings are read from the checkpoint per token (a streamed model). */
    boolean embeddingsStreamed() {
        return llm.model().embedTokens().streamed();
    }

    @Override
    public void close() {
        manager.close();
        tokenizer.close();
        ownedSources.forEach(WeightSource::close);
    }
}
