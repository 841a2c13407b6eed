package ai.convllava.model.api;


import java.nio.file.Path;

/**
 * What to load.
 *
 * @param visionTower    the ConvLLaVA-ConvNeXt folder, or null to search for it (see ModelFolder)
 * @param weightFormat   LLM linear weights in memory; null picks by size (F16 for 7B, F32 for small models)
 * @param canvasOverride canvas side for an embedded tower whose size the names do not tell; 0 = infer
 * @param layerLimit     use only the first N decoder layers (benchmarks); 0 = all
 * @param towerMemory    whether the vision tower's weights stay in memory or are streamed per image
 */
public record LoadOptions(Path modelDir, Path visionTower, Device device, WeightFormat weightFormat, int canvasOverride, int layerLimit,
                          TowerMemory towerMemory) {
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
            throw new IllegalArgumentException("canvas and layer limit must be >= 0");
        }
    }

    public LoadOptions(Path modelDir, Path visionTower, Device device, WeightFormat weightFormat, int canvasOverride, int layerLimit) {
        this(modelDir, visionTower, device, weightFormat, canvasOverride, layerLimit, TowerMemory.AUTO);
    }

    public static LoadOptions of(Path modelDir) {
        return new LoadOptions(modelDir, null, Device.AUTO, null, 0, 0);
    }

    public LoadOptions withVisionTower(Path tower) {
        return new LoadOptions(modelDir, tower, device, weightFormat, canvasOverride, layerLimit, towerMemory);
    }

    public LoadOptions withDevice(Device d) {
        return new LoadOptions(modelDir, visionTower, d, weightFormat, canvasOverride, layerLimit, towerMemory);
    }

    public LoadOptions withWeightFormat(WeightFormat f) {
        return new LoadOptions(modelDir, visionTower, device, f, canvasOverride, layerLimit, towerMemory);
    }

    public LoadOptions withCanvasOverride(int side) {
        return new LoadOptions(modelDir, visionTower, device, weightFormat, side, layerLimit, towerMemory);
    }

    public LoadOptions withTowerMemory(TowerMemory m) {
        return new LoadOptions(modelDir, visionTower, device, weightFormat, canvasOverride, layerLimit, m);
    }
}
