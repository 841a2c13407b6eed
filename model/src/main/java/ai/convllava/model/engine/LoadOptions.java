package ai.convllava.model.engine;

import ai.convllava.model.nn.WeightFormat;

import java.nio.file.Path;

/**
 * What to load.
 *
 * @param visionTower    the ConvLLaVA-ConvNeXt folder, or null to search for it (see ModelFolder)
 * @param weightFormat   LLM linear weights in memory; null picks by size (F16 for 7B, F32 for small models)
 * @param canvasOverride canvas side for an embedded tower whose size the names do not tell; 0 = infer
 * @param layerLimit     use only the first N decoder layers (benchmarks); 0 = all
 */
public record LoadOptions(Path modelDir, Path visionTower, Device device, WeightFormat weightFormat, int canvasOverride, int layerLimit) {
    public LoadOptions {
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

    public static LoadOptions of(Path modelDir) {
        return new LoadOptions(modelDir, null, Device.AUTO, null, 0, 0);
    }

    public LoadOptions withVisionTower(Path tower) {
        return new LoadOptions(modelDir, tower, device, weightFormat, canvasOverride, layerLimit);
    }

    public LoadOptions withDevice(Device d) {
        return new LoadOptions(modelDir, visionTower, d, weightFormat, canvasOverride, layerLimit);
    }

    public LoadOptions withWeightFormat(WeightFormat f) {
        return new LoadOptions(modelDir, visionTower, device, f, canvasOverride, layerLimit);
    }

    public LoadOptions withCanvasOverride(int side) {
        return new LoadOptions(modelDir, visionTower, device, weightFormat, side, layerLimit);
    }
}
