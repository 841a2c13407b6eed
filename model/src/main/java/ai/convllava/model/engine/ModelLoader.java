package ai.convllava.model.engine;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.MemoryPlan;
import ai.convllava.model.api.NotEnoughMemoryException;
import ai.convllava.model.api.QuantizedWeightFiles;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.config.LlavaConfig;
import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.config.ModelFolder;
import ai.convllava.model.config.PreprocessorConfig;
import ai.convllava.model.config.StandardModels;
import ai.convllava.model.config.VisionTower;
import ai.convllava.model.diagnostics.JavaHeap;
import ai.convllava.model.diagnostics.NativeHeap;
import ai.convllava.model.nn.ComputePath;
import ai.convllava.model.nn.ConvNextEncoder;
import ai.convllava.model.nn.LlamaForCausalLM;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.nn.MlpProjector;
import ai.convllava.model.nn.Weights;
import ai.convllava.model.quant.GgufFile;
import ai.convllava.model.quant.QuantFormat;
import ai.convllava.model.quant.QuantizedFiles;
import ai.convllava.model.reliability.MemoryEstimate;
import ai.convllava.model.runtime.DeviceChoice;
import ai.convllava.model.runtime.LibtorchSetup;
import ai.convllava.model.runtime.NvidiaDriver;
import ai.convllava.model.spi.ModelSource;
import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.WeightSource;
import ai.convllava.model.tokenizer.Tokenizers;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Builds a {@link ConvLlava} from {@link LoadOptions}: a ConvLLaVA-sft folder (bf16 .bin or safetensors
 * shards), its vision tower and tokenizer, or a {@link ModelSource}. Everything is validated before any
 * native call; the memory the model needs is checked against what is available before a byte is
 * allocated; the device and the weight format are picked here.
 */
public final class ModelLoader {
    private static final Logger LOG = LoggerFactory.getLogger(ModelLoader.class);

    private ModelLoader() {
    }

    /**
     * Loads the model the options name. Progress goes to {@code listener} after each tensor and
     * {@code cancelled} is polled between tensors.
     */
    public static ConvLlava load(LoadOptions o, LoadListener listener, BooleanSupplier cancelled) {
        return o.source() != null ? loadSource(o, listener, cancelled) : loadFolder(o, listener, cancelled);
    }

    private static ConvLlava loadFolder(LoadOptions o, LoadListener listener, BooleanSupplier cancelled) {
        ModelFolder folder = ModelFolder.open(o.modelDir());
        WeightSource main = ShardedCheckpoint.open(folder.dir());
        WeightSource towerWeights = null;
        TextTokenizer tokenizer = null;
        ConvLlava built = null;
        try {
            VisionTower tower = resolveTower(folder, main, o);
            LOG.info(tower.description());
            towerWeights = tower.source() == VisionTower.Source.SEPARATE_FOLDER ? ShardedCheckpoint.open(tower.folder()) : main;
            tokenizer = Tokenizers.open(folder.dir());
            built = build(folder, tower, towerWeights, main, tokenizer, o, listener, cancelled);
            if (built.towerMemory() == TowerMemory.STREAMED) {
                built.own(towerWeights); // read again for every image; closed with the model
                if (towerWeights != main) {
                    built.own(main); // the token embeddings' rows are read when used
                }
            }
            return built;
        } catch (RuntimeException | Error e) {
            if (tokenizer != null && built == null) {
                tokenizer.close();
            }
            throw e;
        } finally {
            boolean streamed = built != null && built.towerMemory() == TowerMemory.STREAMED; // both sources stay open, owned by the model
            if (towerWeights != null && towerWeights != main && !streamed) {
                towerWeights.close();
            }
            if (!streamed) {
                main.close();
            }
        }
    }

    /** A model whose config, weights (tower embedded) and tokenizer come from a {@link ModelSource}. */
    private static ConvLlava loadSource(LoadOptions o, LoadListener listener, BooleanSupplier cancelled) {
        ModelSource s = o.source();
        LlavaConfig cfg = s.config();
        int canvas = s.visionTower().imageSize();
        VisionTower tower = new VisionTower(VisionTower.Source.EMBEDDED_IN_MODEL, null, VisionTower.EMBEDDED_PREFIX, s.visionTower(),
                PreprocessorConfig.clip(canvas), "vision tower: " + s.describe() + ", " + s.visionTower() + ", canvas " + canvas);
        TextTokenizer tokenizer = s.tokenizer();
        try {
            return build(ModelFolder.of(o.modelDir(), cfg), tower, s.weights(), s.weights(), tokenizer, o, listener, cancelled);
        } catch (RuntimeException | Error e) {
            tokenizer.close();
            throw e;
        }
    }

    /**
     * Builds the model from weight sources. The sources are read, not closed; the tokenizer is owned by
     * the model from here on.
     */
    static ConvLlava build(ModelFolder folder, VisionTower tower, WeightSource towerWeights, WeightSource main, TextTokenizer tokenizer,
                           LoadOptions o, LoadListener listener, BooleanSupplier cancelled) {
        LlavaConfig cfg = folder.config();
        NDManager manager = null;
        try {
            if (tokenizer.vocabSize() > cfg.llm().vocabSize()) {
                throw new ConvLlavaException(tokenizer.describe() + " has " + tokenizer.vocabSize() + " tokens but " + cfg.file()
                        + " says vocab_size=" + cfg.llm().vocabSize() + ": tokenizer and weights do not belong together");
            }
            ai.djl.Device device = pickDevice(o.device(), cfg, tower, o);
            boolean gpu = !device.equals(ai.djl.Device.cpu()); // CUDA or Apple's mps
            // the device path: what a GPU runs, or the CPU device forced onto it (tests, the bench)
            boolean devicePath = gpu || o.devicePathOnCpu();
            WeightFormat format = devicePath ? deviceFormat(o.weightFormat())
                    : o.weightFormat() != null ? o.weightFormat() : autoFormat(folder, tower, main, o);
            ComputePath path = devicePath ? ComputePath.device(format == WeightFormat.F32 ? DataType.FLOAT32 : DataType.FLOAT16) : ComputePath.CPU;
            TowerMemory towerMemory = devicePath ? TowerMemory.RESIDENT : checkMemory(cfg, tower, format, o);
            boolean streamTower = towerMemory == TowerMemory.STREAMED;
            manager = NDManager.newBaseManager(device);

            List<String> towerKeys = ConvNextEncoder.keys(tower.weightPrefix(), tower.config());
            // quantized formats are for the LLM's linear layers: the tower keeps float16 pointwise linears
            WeightFormat towerFormat = format.quantized() ? WeightFormat.F16 : format;
            Weights tw = new Weights(towerWeights, manager, towerFormat, "vision tower", towerKeys, listener, cancelled).withComputePath(path);
            ConvNextEncoder encoder = new ConvNextEncoder(tw, tower.weightPrefix(), tower.config(), streamTower);

            List<String> llmKeys = new ArrayList<>(MlpProjector.keys());
            llmKeys.addAll(LlamaForCausalLM.keys(cfg.llm(), o.layerLimit()));
            Weights lw = new Weights(main, manager, format, "language model", llmKeys, listener, cancelled).withComputePath(path);
            LlamaForCausalLM llm;
            MlpProjector projector;
            try (GgufFile quantized = format.quantized() && main instanceof ShardedCheckpoint sc
                    ? QuantizedFiles.open(folder.dir(), format, sc.files(), true, cancelled) : null) {
                if (quantized != null) {
                    LOG.info("{} weights from {}", format, quantized.describe());
                    lw.withQuantized(quantized);
                } else if (format.quantized()) {
                    LOG.info("quantizing the language model's linear layers to {} while loading ({} would keep them: convllava models quantize)",
                            format, QuantizedFiles.path(folder.dir(), format).getFileName());
                }
                projector = new MlpProjector(lw, tower.config().outputSize(), cfg.llm().hiddenSize());
                // a streamed model also leaves the token embeddings in the checkpoint
                // the device path keeps the cache in its math type (attention multiplies in it); the CPU path an 8-bit
                // cache with 8/4-bit weights, whose point is memory (KvCache; each decode step widens the positions it reads)
                // (a model too narrow for the format's blocks keeps float16 weights, and the float32 cache that goes with them)
                DataType cacheType = devicePath ? path.mathType()
                        : format.cpuKvCacheInt8() && QuantFormat.quantizes(format, cfg.llm().hiddenSize()) ? DataType.INT8 : DataType.FLOAT32;
                llm = new LlamaForCausalLM(lw, cfg.llm(), manager, o.layerLimit(), cacheType, streamTower);
            }

            Set<String> unused = new TreeSet<>(main.unusedKeys());
            if (towerWeights != main) {
                unused.removeIf(k -> k.startsWith(VisionTower.EMBEDDED_PREFIX)); // superseded by the tower folder
                unused.addAll(towerWeights.unusedKeys());
            }
            unused.removeIf(k -> k.startsWith(VisionTower.EMBEDDED_PREFIX + "layernorm.")); // ConvLLaVA skips the final norm
            if (o.layerLimit() == 0 && !unused.isEmpty()) {
                LOG.warn("{} checkpoint tensors were not used: {}", unused.size(), unused.size() > 12 ? List.copyOf(unused).subList(0, 12) + " ..." : unused);
            }
            String deviceName = gpu ? (device.isGpu() ? "GPU " : "Apple GPU ") + device : "CPU (" + Runtime.getRuntime().availableProcessors()
                    + " cores, PyTorch " + Engine.getInstance().getVersion() + (devicePath ? ", " + path.describe() : "") + ")";
            LOG.info("loaded {} on {}: LLM weights {}, {} layers, {}", folder.dir(), deviceName, format, llm.model().numLayers(), path.describe());
            ConvLlava model = new ConvLlava(manager, folder, tower, encoder, projector, llm, tokenizer, format, deviceName, path, unused);
            // loading went through GBs of short-lived Java buffers (widening chunks, headers): one collection
            // now lets the collector give the heap back, down to a small margin over what the model holds (JavaHeap), and a trim
            // gives back what the load's native transients left in the C heap (NativeHeap explains why the allocator
            // keeps it otherwise)
            JavaHeap.shrinkAfterLoad();
            NativeHeap.trim();
            return model;
        } catch (RuntimeException | Error e) {
            if (manager != null) {
                manager.close();
            }
            throw e;
        }
    }

    /**
     * The weight format on the device path: float32 when asked for ({@code --weights f32}), float16 otherwise.
     * The quantized formats are the CPU's Java kernels, so they load as float16 there. bfloat16 is not offered:
     * DJL aborts the JVM on some calls with bfloat16 tensors ({@link Weights}).
     */
    static WeightFormat deviceFormat(WeightFormat asked) {
        if (asked == WeightFormat.F32) {
            return WeightFormat.F32;
        }
        if (asked != null && asked.quantized()) {
            LOG.info("weights: {} is a CPU format; the device path holds the weights in float16", asked);
        }
        return WeightFormat.F16;
    }

    private static long llmParams(LlavaConfig cfg) {
        long h = cfg.llm().hiddenSize();
        return (long) cfg.llm().vocabSize() * h * 2 + (long) cfg.llm().numHiddenLayers() * (4L * h * h + 3L * h * cfg.llm().intermediateSize());
    }

    /**
     * {@code --weights auto}: float32 for small models; for big ones the most accurate format that fits
     * ({@link #plan}); F16 when the memory check is skipped (truncated benchmark models).
     */
    private static WeightFormat autoFormat(ModelFolder folder, VisionTower tower, WeightSource main, LoadOptions o) {
        WeightFormat bySize = WeightFormat.auto(llmParams(folder.config()));
        if (bySize == WeightFormat.F32 || o.layerLimit() != 0 || Boolean.getBoolean("convllava.skipMemoryCheck")) {
            return bySize;
        }
        MemoryPlan plan = plan(folder, tower, main, o);
        LOG.info("weights: auto picked {} ({})", plan.auto(), plan.options().stream()
                .map(p -> p.format().optionName() + (p.fits() ? " fits" : " does not fit")).toList());
        return plan.auto();
    }

    /** {@link MemoryPlan#of}: the folder's config, tower and checkpoint headers, nothing loaded. */
    public static MemoryPlan memoryPlan(LoadOptions o) {
        ModelFolder folder = ModelFolder.open(o.modelDir());
        try (ShardedCheckpoint main = ShardedCheckpoint.open(folder.dir())) {
            return plan(folder, resolveTower(folder, main, o), main, o);
        }
    }

    /** {@link MemoryPlan#ofStandard}: a published size from its configs, before it is downloaded. */
    public static MemoryPlan standardMemoryPlan(int canvas) {
        return plan(StandardModels.convLlava(canvas), StandardModels.tower(canvas), canvas, TowerMemory.AUTO, f -> QuantizedWeightFiles.Availability.NONE);
    }

    static MemoryPlan plan(ModelFolder folder, VisionTower tower, WeightSource main, LoadOptions o) {
        return plan(folder.config(), tower.config(), tower.preprocessor().canvasSide(), o.towerMemory(), f -> {
            if (!(main instanceof ShardedCheckpoint sc)) {
                return QuantizedWeightFiles.Availability.NONE;
            }
            try (GgufFile g = QuantizedFiles.open(folder.dir(), f, sc.files(), false, () -> false)) {
                return g != null ? QuantizedWeightFiles.Availability.READY : QuantizedWeightFiles.Availability.NONE;
            } catch (ConvLlavaException e) {
                return QuantizedWeightFiles.Availability.UNUSABLE;
            }
        });
    }

    /**
     * Each format's memory on this machine; auto is float32 for small models, else the first that fits of:
     * Q8_0 when its file has been made (float16's answers in half the memory, decoding about twice as
     * fast), F16, Q8_0 (quantized while loading), Q4_K; when none fits, Q4_K, whose refusal names the
     * least the model needs.
     */
    private static MemoryPlan plan(LlavaConfig cfg, ConvNextConfig towerConfig, int canvasSide, TowerMemory towerMemory,
                                   Function<WeightFormat, QuantizedWeightFiles.Availability> files) {
        return plan(cfg, towerConfig, canvasSide, towerMemory, files, MemoryEstimate.availableBytes(), Runtime.getRuntime().maxMemory());
    }

    /** The plan against {@code available} bytes of RAM and a Java heap of at most {@code maxHeap}. */
    static MemoryPlan plan(LlavaConfig cfg, ConvNextConfig towerConfig, int canvasSide, TowerMemory towerMemory,
                           Function<WeightFormat, QuantizedWeightFiles.Availability> files, long available, long maxHeap) {
        boolean small = WeightFormat.auto(llmParams(cfg)) == WeightFormat.F32;
        Map<WeightFormat, QuantizedWeightFiles.Availability> made = new EnumMap<>(WeightFormat.class);
        for (WeightFormat f : WeightFormat.values()) { // each file looked at once: it is opened and its header read
            made.put(f, f.quantized() ? files.apply(f) : QuantizedWeightFiles.Availability.NONE);
        }
        List<MemoryPlan.Option> options = new ArrayList<>();
        for (WeightFormat f : WeightFormat.values()) {
            if (f == WeightFormat.F32 && !small) {
                continue;
            }
            Need n = need(cfg, towerConfig, canvasSide, towerMemory, f, ConvLlava.INITIAL_CONTEXT, available, maxHeap);
            options.add(new MemoryPlan.Option(f, n.ram().neededBytes(), n.towerMemory(), n.fits(),
                    !n.ram().fits() ? n.ram().message() : !n.heap().fits() ? n.heap().message() : null, made.get(f)));
        }
        WeightFormat auto = WeightFormat.Q4_K;
        if (small) {
            auto = WeightFormat.F32;
        } else {
            List<WeightFormat> order = new ArrayList<>();
            if (made.get(WeightFormat.Q8_0) == QuantizedWeightFiles.Availability.READY) {
                order.add(WeightFormat.Q8_0);
            }
            order.addAll(List.of(WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_K));
            for (WeightFormat f : order) {
                if (options.stream().anyMatch(p -> p.format() == f && p.fits())) {
                    auto = f;
                    break;
                }
            }
        }
        return new MemoryPlan(available, maxHeap, options, auto);
    }

    /** What one weight format needs: RAM with the tower memory it would get, and Java heap. */
    private record Need(MemoryEstimate.Check ram, MemoryEstimate.Check heap, TowerMemory towerMemory) {
        boolean fits() {
            return ram.fits() && heap.fits();
        }
    }

    /**
     * The memory {@code format} needs here, predicted from the configs. With {@code AUTO} the tower is
     * resident when that fits, else streamed (also when nothing fits: the streamed figure is the least
     * the model needs, which a refusal should name).
     */
    private static Need need(LlavaConfig cfg, ConvNextConfig towerConfig, int canvasSide, TowerMemory towerMemory, WeightFormat format,
                             int contextTokens, long available, long maxHeap) {
        int context = Math.min(contextTokens, cfg.llm().maxPositionEmbeddings());
        TowerMemory tm = towerMemory == TowerMemory.AUTO ? TowerMemory.RESIDENT : towerMemory;
        MemoryEstimate chosen = MemoryEstimate.of(cfg.llm(), cfg.mmHiddenSize(), towerConfig, canvasSide, format, context, tm == TowerMemory.STREAMED);
        MemoryEstimate.Check ram = chosen.check(available);
        if (!ram.fits() && towerMemory == TowerMemory.AUTO) {
            MemoryEstimate streamed = MemoryEstimate.of(cfg.llm(), cfg.mmHiddenSize(), towerConfig, canvasSide, format, context, true);
            MemoryEstimate.Check s = streamed.check(available);
            if (s.fits() || s.neededBytes() < ram.neededBytes()) {
                ram = s;
                chosen = streamed;
                tm = TowerMemory.STREAMED;
            }
        }
        return new Need(ram, chosen.heapCheck(maxHeap), tm);
    }

    /**
     * The tower memory to use: the memory the model needs is predicted from its configs before a byte is
     * allocated, so a model that cannot fit is refused with the numbers instead of being killed mid-load;
     * {@code AUTO} streams the tower when only that fits. Skipped for truncated (benchmark) models and with
     * {@code -Dconvllava.skipMemoryCheck=true}.
     */
    private static TowerMemory checkMemory(LlavaConfig cfg, VisionTower tower, WeightFormat format, LoadOptions o) {
        if (o.layerLimit() != 0 || Boolean.getBoolean("convllava.skipMemoryCheck")) {
            return o.towerMemory();
        }
        Need n = need(cfg, tower.config(), tower.preprocessor().canvasSide(), o.towerMemory(), format,
                o.initialContext(cfg.llm().maxPositionEmbeddings()), MemoryEstimate.availableBytes(),
                Runtime.getRuntime().maxMemory());
        if (n.ram().fits() && o.towerMemory() == TowerMemory.AUTO && n.towerMemory() == TowerMemory.STREAMED) {
            LOG.info("memory: the whole model does not fit; the vision tower and the token embeddings will be streamed");
        }
        LOG.info("memory: {}", n.ram().message());
        if (!n.ram().fits()) {
            throw new NotEnoughMemoryException(n.ram().message() + " (to try anyway, start with -Dconvllava.skipMemoryCheck=true)");
        }
        if (!n.heap().fits()) {
            throw new NotEnoughMemoryException(n.heap().message());
        }
        return n.towerMemory();
    }

    static VisionTower resolveTower(ModelFolder folder, WeightSource main, LoadOptions o) {
        if (o.visionTower() != null) {
            if (!Files.isDirectory(o.visionTower())) {
                throw new ConvLlavaException("vision tower folder " + o.visionTower() + " does not exist");
            }
            return folder.separateTower(o.visionTower().toAbsolutePath().normalize(), "given with --vision-tower");
        }
        return folder.findVisionTowerFolder(System.getenv(), Path.of(System.getProperty("user.home")))
                .map(p -> folder.separateTower(p, "found for mm_vision_tower=" + folder.config().mmVisionTower()))
                .orElseGet(() -> folder.embeddedTower(main, o.canvasOverride()));
    }

    /**
     * The device for {@code d}: the GPU when asked for (or Auto) and usable ({@link DeviceChoice}), else the
     * CPU with the reason logged; a GPU asked for and not usable is refused with that reason. A model too big
     * for the GPU's free memory is refused with the numbers (GPU) or goes to the CPU (Auto).
     */
    private static ai.djl.Device pickDevice(Device d, LlavaConfig cfg, VisionTower tower, LoadOptions o) {
        DeviceChoice choice = LibtorchSetup.choose(d);
        if (d == Device.GPU && !choice.accelerated()) {
            throw new ConvLlavaException("a GPU was requested but it cannot be used: " + choice.reason() + "; choose CPU or Auto");
        }
        if (choice.kind() == DeviceChoice.Kind.CUDA && o.layerLimit() == 0 && !Boolean.getBoolean("convllava.skipMemoryCheck")) {
            int context = o.initialContext(cfg.llm().maxPositionEmbeddings());
            long need = MemoryEstimate.of(cfg.llm(), cfg.mmHiddenSize(), tower.config(), tower.preprocessor().canvasSide(),
                    deviceFormat(o.weightFormat()), context, false).totalBytes();
            String problem = DeviceChoice.gpuMemoryProblem(need, NvidiaDriver.query());
            if (problem != null) {
                if (d == Device.GPU) {
                    throw new NotEnoughMemoryException(problem + "; choose CPU, or Auto to fall back to the CPU");
                }
                LOG.info("device: the CPU, because {}", problem);
                return ai.djl.Device.cpu();
            }
        }
        LOG.info("device: {}", choice.reason());
        return switch (choice.kind()) {
            case CUDA -> ai.djl.Device.gpu();
            case MPS -> ai.djl.Device.of("mps", -1);
            case CPU -> ai.djl.Device.cpu();
        };
    }
}
