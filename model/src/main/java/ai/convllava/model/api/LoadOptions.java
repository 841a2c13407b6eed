package ai.convllava.model.api;

import ai.convllava.model.spi.ModelSource;

import java.nio.file.Path;

/**
 * What to load: a model folder, or (for the benchmark) a {@link ModelSource} of synthetic weights.
 *
 * @param modelDir       the ConvLLaVA-sft folder (with a source: a name for messages only)
 * @param visionTower    the ConvLLaVA-ConvNeXt folder, or null to search for it (see ModelFolder)
 * @param weightFormat   LLM linear weights in memory; null picks the most accurate that fits ({@link MemoryPlan#auto()}: F32 for small models)
 * @param canvasOverride canvas side for an embedded tower whose size the names do not tell; 0 = infer
 * @param layerLimit     use only the first N decoder layers (benchmarks); 0 = all
 * @param towerMemory    whether the vision tower's weights stay in memory or are streamed per image
 * @param source         where config, weights and tokenizer come from instead of {@code modelDir}'s files, or null
 * @param devicePathOnCpu run the code a GPU runs (libtorch ops only, the KV cache and the sampling on the device, float16
 *                       unless {@code weightFormat} is F32) on the CPU device: for tests and the bench, which check the
 *                       GPU's code on machines without one; the app never sets it
 * @param contextTokens  KV-cache positions reserved up front for each conversation (the memory check counts them);
 *                       0 = {@link VisionChatSession#INITIAL_CACHE_TOKENS}, doubled when a conversation outgrows it
 */
public record LoadOptions(Path modelDir, Path visionTower, Device device, WeightFormat weightFormat, int canvasOverride, int layerLimit,
                          TowerMemory towerMemory, ModelSource source, boolean devicePathOnCpu,
                          int contextTokens) {
    public LoadOptions {
        if (towerMemory == null) {
            towerMemory = TowerMemory.AUTO;
        }
        if (modelDir == null) {
            throw new IllegalArgumentException("model folder is required");
        }
        if (device == null) {
            device = Device.AUTO;
        }
        if (canvasOverride < 0 || layerLimit < 0) {
            throw new IllegalArgumentException("canvas and layer limit must be >= 0 (got canvas " + canvasOverride + ", layers " + layerLimit + ")");
        }
        if (contextTokens < 0) {
            throw new IllegalArgumentException("context tokens must be >= 0 (got " + contextTokens + ")");
        }
        if (devicePathOnCpu && device != Device.CPU) {
            throw new IllegalArgumentException("the device path is forced onto the CPU device only (got device " + device + ")");
        }
    }

    public static LoadOptions of(Path modelDir) {
        return new LoadOptions(modelDir, null, Device.AUTO, null, 0, 0, TowerMemory.AUTO, null, false, 0);
    }

    /** A model from a {@link ModelSource} (the benchmark's synthetic weights), on the CPU. */
    public static LoadOptions ofSource(ModelSource source) {
        return new LoadOptions(Path.of("synthetic"), null, Device.CPU, null, 0, 0, TowerMemory.AUTO, source, false, 0);
    }

    public LoadOptions withVisionTower(Path tower) {
        return new LoadOptions(modelDir, tower, device, weightFormat, canvasOverride, layerLimit, towerMemory, source, devicePathOnCpu, contextTokens);
    }

    public LoadOptions withDevice(Device d) {
        return new LoadOptions(modelDir, visionTower, d, weightFormat, canvasOverride, layerLimit, towerMemory, source, devicePathOnCpu, contextTokens);
    }

    public LoadOptions withWeightFormat(WeightFormat f) {
        return new LoadOptions(modelDir, visionTower, device, f, canvasOverride, layerLimit, towerMemory, source, devicePathOnCpu, contextTokens);
    }

    public LoadOptions withCanvasOverride(int side) {
        return new LoadOptions(modelDir, visionTower, device, weightFormat, side, layerLimit, towerMemory, source, devicePathOnCpu, contextTokens);
    }

    public LoadOptions withLayerLimit(int layers) {
        return new LoadOptions(modelDir, visionTower, device, weightFormat, canvasOverride, layers, towerMemory, source, devicePathOnCpu, contextTokens);
    }

    /** The GPU's code on the CPU device (tests, the bench): see {@code devicePathOnCpu}. Sets the device to CPU. */
    public LoadOptions withDevicePathOnCpu(boolean on) {
        return new LoadOptions(modelDir, visionTower, on ? Device.CPU : device, weightFormat, canvasOverride, layerLimit, towerMemory, source, on, contextTokens);
    }

    public LoadOptions withTowerMemory(TowerMemory m) {
        return new LoadOptions(modelDir, visionTower, device, weightFormat, canvasOverride, layerLimit, m, source, devicePathOnCpu, contextTokens);
    }

    /** Reserves the KV cache for {@code tokens} positions when a conversation starts; 0 = the default. */
    public LoadOptions withContextTokens(int tokens) {
        return new LoadOptions(modelDir, visionTower, device, weightFormat, canvasOverride, layerLimit, towerMemory, source, devicePathOnCpu, tokens);
    }

    /** The KV-cache positions a conversation starts with, at most {@code maxPositions}. */
    public int initialContext(int maxPositions) {
        return Math.min(contextTokens > 0 ? contextTokens : VisionChatSession.INITIAL_CACHE_TOKENS, maxPositions);
    }
}
