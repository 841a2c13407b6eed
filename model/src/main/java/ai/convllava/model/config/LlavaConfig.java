package ai.convllava.model.config;

import java.nio.file.Path;

/**
 * A ConvLLaVA-sft config.json: the LLaMA fields plus LLaVA's multimodal ones. Only what ConvLLaVA
 * ships is accepted (mlp2x_gelu projector, last-layer patch features, no im_start/im_end tokens);
 * anything else is refused with the field and value rather than silently mis-run.
 */
public record LlavaConfig(
        LlamaConfig llm,
        String mmVisionTower,
        String mmProjectorType,
        int mmHiddenSize,
        String imageAspectRatio,
        Path file) {

    public LlavaConfig {
        if (!"mlp2x_gelu".equals(mmProjectorType)) {
            throw new ConfigException(file + ": mm_projector_type must be mlp2x_gelu (got mm_projector_type=" + mmProjectorType + ")");
        }
        if (mmHiddenSize <= 0) {
            throw new ConfigException(file + ": mm_hidden_size must be positive (got mm_hidden_size=" + mmHiddenSize + ")");
        }
    }

    public static LlavaConfig read(Path configJson) {
        JsonConfig j = JsonConfig.read(configJson);
        LlamaConfig llm = LlamaConfig.from(j);
        if (j.integer("mm_vision_select_layer", -1) != -1) {
            throw j.error("mm_vision_select_layer", j.node("mm_vision_select_layer"), "must be -1 (ConvLLaVA reads the last stage)");
        }
        if (j.bool("mm_use_im_start_end", false)) {
            throw j.error("mm_use_im_start_end", true, "is not supported (ConvLLaVA does not use image start/end tokens)");
        }
        String feature = j.text("mm_vision_select_feature", "patch");
        if (!feature.equals("patch")) {
            throw j.error("mm_vision_select_feature", feature, "must be patch");
        }
        if (!j.has("mm_vision_tower")) {
            throw new ConfigException(configJson + ": mm_vision_tower is missing: this does not look like a ConvLLaVA (LLaVA) model folder");
        }
        return new LlavaConfig(llm, j.text("mm_vision_tower"), j.text("mm_projector_type", "linear"),
                j.integer("mm_hidden_size"), j.text("image_aspect_ratio", "pad"), configJson);
    }
}
