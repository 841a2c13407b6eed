package ai.convllava.model.config;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The ConvNeXt vision tower with ConvLLaVA's fifth stage (ConvLLaVA-1536: depths 3,3,27,3,6, hidden
 * sizes 192,384,768,1536,3072, total stride 64). Mirrors transformers' {@code ConvNextConfig}.
 * Every LayerNorm inside ConvNeXt uses eps 1e-6 (hard-coded in transformers), not layer_norm_eps,
 * which only the final norm (unused by ConvLLaVA) reads.
 */
public record ConvNextConfig(int numChannels, int patchSize, int[] hiddenSizes, int[] depths, boolean layerScale, int imageSize) {

    public static final double LAYER_NORM_EPS = 1e-6;

    public ConvNextConfig {
        hiddenSizes = hiddenSizes.clone();
        depths = depths.clone();
        if (numChannels != 3) {
            throw new ConfigException("num_channels must be 3 (got num_channels=" + numChannels + ")");
        }
        if (patchSize <= 0) {
            throw new ConfigException("patch_size must be positive (got patch_size=" + patchSize + ")");
        }
        if (hiddenSizes.length == 0 || hiddenSizes.length != depths.length) {
            throw new ConfigException("hidden_sizes and depths must be non-empty and of equal length (got hidden_sizes="
                    + Arrays.toString(hiddenSizes) + ", depths=" + Arrays.toString(depths) + ")");
        }
        for (int i = 0; i < depths.length; i++) {
            if (depths[i] <= 0 || hiddenSizes[i] <= 0) {
                throw new ConfigException("hidden_sizes and depths must be positive (got hidden_sizes="
                        + Arrays.toString(hiddenSizes) + ", depths=" + Arrays.toString(depths) + ")");
            }
        }
        if (imageSize <= 0) {
            throw new ConfigException("image_size must be positive (got image_size=" + imageSize + ")");
        }
    }

    @Override
    public int[] hiddenSizes() {
        return hiddenSizes.clone();
    }

    @Override
    public int[] depths() {
        return depths.clone();
    }

    public int numStages() {
        return depths.length;
    }

    public int hiddenSize(int stage) {
        return hiddenSizes[stage];
    }

    public int depth(int stage) {
        return depths[stage];
    }

    /** Output width of the last stage: the vision feature size the projector reads (mm_hidden_size). */
    public int outputSize() {
        return hiddenSizes[hiddenSizes.length - 1];
    }

    /** Total stride: the stem's patch size, then 2x per later stage (64 for 5 stages). */
    public int stride() {
        return patchSize << (depths.length - 1);
    }

    static ConvNextConfig from(JsonConfig j) {
        String act = j.text("hidden_act", "gelu");
        if (!act.equals("gelu")) {
            throw j.error("hidden_act", act, "must be gelu for ConvNeXt");
        }
        try {
            return new ConvNextConfig(
                    j.integer("num_channels", 3),
                    j.integer("patch_size", 4),
                    j.ints("hidden_sizes"),
                    j.ints("depths"),
                    j.number("layer_scale_init_value", 1e-6) > 0,
                    j.integer("image_size", 224));
        } catch (ConfigException e) {
            throw new ConfigException(j.file + ": " + e.getMessage(), e);
        }
    }

    public static ConvNextConfig read(Path configJson) {
        return from(JsonConfig.read(configJson));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConvNextConfig c && c.numChannels == numChannels && c.patchSize == patchSize
                && Arrays.equals(c.hiddenSizes, hiddenSizes) && Arrays.equals(c.depths, depths)
                && c.layerScale == layerScale && c.imageSize == imageSize;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(hiddenSizes) * 31 + Arrays.hashCode(depths);
    }

    @Override
    public String toString() {
        return "ConvNextConfig[hidden_sizes=" + Arrays.toString(hiddenSizes) + ", depths=" + Arrays.toString(depths)
                + ", patch_size=" + patchSize + ", image_size=" + imageSize + "]";
    }
}
