package ai.convllava.model.config;

import java.nio.file.Path;

/**
 * Where the ConvNeXt encoder comes from: the separate ConvLLaVA-ConvNeXt-N folder (with its own
 * config and preprocessor config), or the encoder weights inside the main shards
 * ({@code model.vision_tower.vision_tower.*}) with the shape inferred from them.
 *
 * @param folder       the tower folder, or null when the weights are embedded in the main shards
 * @param weightPrefix prefix of the encoder keys in the weight source ("" for the separate folder)
 * @param description  one line for the log: which source was used and why
 */
public record VisionTower(Source source, Path folder, String weightPrefix, ConvNextConfig config,
                          PreprocessorConfig preprocessor, String description) {

    public enum Source { SEPARATE_FOLDER, EMBEDDED_IN_MODEL }

    public static final String EMBEDDED_PREFIX = "model.vision_tower.vision_tower.";
}
