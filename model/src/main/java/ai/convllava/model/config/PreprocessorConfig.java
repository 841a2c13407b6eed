package ai.convllava.model.config;

import java.nio.file.Path;

/**
 * Image preprocessing of the vision tower (its preprocessor_config.json, a CLIPImageProcessor):
 * canvas side (shortest_edge / crop_size), CLIP mean and std. Published sft folders carry none:
 * then the canvas is the tower's image_size and mean/std are CLIP's.
 */
public record PreprocessorConfig(int canvasSide, float[] mean, float[] std) {
    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    public PreprocessorConfig {
        mean = mean.clone();
        std = std.clone();
        if (canvasSide < 1 || canvasSide > 8192) {
            throw new ConfigException("the image side must be in [1, 8192] (got " + canvasSide + ")");
        }
        if (mean.length != 3 || std.length != 3) {
            throw new ConfigException("image_mean and image_std need 3 values (got " + mean.length + " and " + std.length + ")");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new ConfigException("image_std must be positive (got " + s + ")");
            }
        }
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    public static PreprocessorConfig clip(int canvasSide) {
        return new PreprocessorConfig(canvasSide, CLIP_MEAN, CLIP_STD);
    }

    public static PreprocessorConfig read(Path file) {
        JsonConfig j = JsonConfig.read(file);
        int side;
        if (j.node("crop_size") != null && j.node("crop_size").has("height")) {
            side = j.node("crop_size").get("height").asInt(-1);
            int w = j.node("crop_size").path("width").asInt(side);
            if (w != side) {
                throw j.error("crop_size", j.node("crop_size"), "must be square");
            }
        } else if (j.node("size") != null && j.node("size").has("shortest_edge")) {
            side = j.node("size").get("shortest_edge").asInt(-1);
        } else {
            throw new ConfigException(file + ": neither crop_size.height nor size.shortest_edge gives the image side");
        }
        int resample = j.integer("resample", 3);
        if (resample != 3) {
            throw j.error("resample", resample, "must be 3 (bicubic), which ConvLLaVA was trained with");
        }
        try {
            return new PreprocessorConfig(side,
                    j.has("image_mean") ? j.floats("image_mean") : CLIP_MEAN,
                    j.has("image_std") ? j.floats("image_std") : CLIP_STD);
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage(), e);
        }
    }
}
