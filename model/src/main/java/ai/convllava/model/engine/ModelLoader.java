package ai.convllava.model.engine;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.config.LlavaConfig;
import ai.convllava.model.config.ModelFolder;
import ai.convllava.model.config.PreprocessorConfig;
import ai.convllava.model.config.VisionTower;
import ai.convllava.model.nn.ConvNextEncoder;
import ai.convllava.model.nn.LlamaForCausalLM;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.nn.MlpProjector;
import ai.convllava.model.nn.Weights;
import ai.convllava.model.quant.GgufFile;
import ai.convllava.model.quant.QuantizedFiles;
import ai.convllava.model.reliability.MemoryEstimate;
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
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;

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
            ai.djl.Device device = pickDevice(o.device());
            boolean gpu = device.isGpu();
            long llmParams = (long) cfg.llm().vocabSize() * cfg.llm().hiddenSize() * 2
                    + (long) cfg.llm().numHiddenLayers() * (4L * cfg.llm().hiddenSize() * cfg.llm().hiddenSize()
                    + 3L * cfg.llm().hiddenSize() * cfg.llm().intermediateSize());
            WeightFormat format = gpu ? WeightFormat.F16 : o.weightFormat() != null ? o.weightFormat() : WeightFormat.auto(llmParams);
            TowerMemory towerMemory = gpu ? TowerMemory.RESIDENT : checkMemory(cfg, tower, format, o);
            boolean streamTower = towerMemory == TowerMemory.STREAMED;
            manager = NDManager.newBaseManager(device);

            List<String> towerKeys = ConvNextEncoder.keys(tower.weightPrefix(), tower.config());
            // quantized formats are for the LLM's linear layers: the tower keeps float16 pointwise linears
            WeightFormat towerFormat = format.quantized() ? WeightFormat.F16 : format;
            Weights tw = new Weights(towerWeights, manager, towerFormat, "vision tower", towerKeys, listener, cancelled);
            ConvNextEncoder encoder = new ConvNextEncoder(tw, tower.weightPrefix(), tower.config(), streamTower);

            List<String> llmKeys = new ArrayList<>(MlpProjector.keys());
            llmKeys.addAll(LlamaForCausalLM.keys(cfg.llm(), o.layerLimit()));
            Weights lw = new Weights(main, manager, format, "language model", llmKeys, listener, cancelled);
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
                llm = new LlamaForCausalLM(lw, cfg.llm(), manager, o.layerLimit(), gpu ? DataType.FLOAT16 : DataType.FLOAT32, streamTower);
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
            String deviceName = gpu ? "GPU " + device : "CPU (" + Runtime.getRuntime().availableProcessors() + " cores, PyTorch "
                    + Engine.getInstance().getVersion() + ")";
            LOG.info("loaded {} on {}: LLM weights {}, {} layers", folder.dir(), deviceName, format, llm.model().numLayers());
            ConvLlava model = new ConvLlava(manager, folder, tower, encoder, projector, llm, tokenizer, format, deviceName, unused);
            // loading went through GBs of short-lived Java buffers (widening chunks, headers): one collection
            // now lets G1 give the heap back instead of keeping it committed
            System.gc();
            return model;
        } catch (RuntimeException | Error e) {
            if (manager != null) {
                manager.close();
            }
            throw e;
        }
    }

    /**
     * The tower memory to use: the memory the model needs is predicted from its configs before a byte is
     * allocated, so a model that cannot fit is refused with the numbers instead of being killed mid-load;
     * {@code AUTO} streams the tower when only that fits. Skipped for truncated (benchmark) models and with
     * {@code -Dconvllava.skipMemoryCheck=true}.
     */
    private static TowerMemory checkMemory(LlavaConfig cfg, VisionTower tower, WeightFormat format, LoadOptions o) {
        TowerMemory towerMemory = o.towerMemory();
        if (o.layerLimit() != 0 || Boolean.getBoolean("convllava.skipMemoryCheck")) {
            return towerMemory;
        }
        int context = Math.min(ConvLlava.INITIAL_CONTEXT, cfg.llm().maxPositionEmbeddings());
        MemoryEstimate.Check check = estimate(cfg, tower, format, context, towerMemory == TowerMemory.STREAMED);
        if (!check.fits() && towerMemory == TowerMemory.AUTO) {
            MemoryEstimate.Check streamed = estimate(cfg, tower, format, context, true);
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
        return towerMemory;
    }

    private static MemoryEstimate.Check estimate(LlavaConfig cfg, VisionTower tower, WeightFormat format, int context, boolean streamTower) {
        return MemoryEstimate.of(cfg.llm(), cfg.mmHiddenSize(), tower.config(), tower.preprocessor().canvasSide(), format, context,
                streamTower).check();
    }

    private static VisionTower resolveTower(ModelFolder folder, WeightSource main, LoadOptions o) {
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

    private static ai.djl.Device pickDevice(Device d) {
        int gpus = Engine.getInstance().getGpuCount();
        if (d == Device.GPU && gpus == 0) {
            throw new ConvLlavaException("a GPU was requested but DJL/PyTorch reports no CUDA device on this machine; choose CPU or Auto");
        }
        return d != Device.CPU && gpus > 0 ? ai.djl.Device.gpu() : ai.djl.Device.cpu();
    }
}
