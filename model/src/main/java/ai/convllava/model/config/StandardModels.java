package ai.convllava.model.config;

import java.nio.file.Path;

/**
 * The published ConvLLaVA-sft-768 / -1024 / -1536 as configs, without their files: Vicuna-7B v1.5 and
 * the five-stage ConvNeXt-L (stages 192..1536 and the trained 3072-wide fifth stage, depths 3, 3, 27,
 * 3, 6), differing only in the canvas. For estimates before a download (the model manager, {@code models
 * list}) and the benchmark's synthetic weights.
 */
public final class StandardModels {
    public static final int[] CONVNEXT_L_WIDTHS = {192, 384, 768, 1536, 3072};
    public static final int[] CONVNEXT_L_DEPTHS = {3, 3, 27, 3, 6};

    private StandardModels() {
    }

    /** Vicuna-7B v1.5 as ConvLLaVA ships it. */
    public static LlamaConfig vicuna7b() {
        return new LlamaConfig(4096, 11008, 32, 32, 32, 4096, 1e-5, 10000.0, 32000, false, 1, 2);
    }

    /** The vision tower of the size with this canvas (768, 1024 or 1536). */
    public static ConvNextConfig tower(int canvas) {
        checkCanvas(canvas);
        return new ConvNextConfig(3, 4, CONVNEXT_L_WIDTHS, CONVNEXT_L_DEPTHS, true, canvas);
    }

    /** The model config of the size with this canvas; {@code file} names it in messages. */
    public static LlavaConfig convLlava(int canvas) {
        checkCanvas(canvas);
        return new LlavaConfig(vicuna7b(), "ConvLLaVA/ConvLLaVA-ConvNeXt-" + canvas, "mlp2x_gelu", CONVNEXT_L_WIDTHS[CONVNEXT_L_WIDTHS.length - 1],
                "pad", Path.of("ConvLLaVA-sft-" + canvas, "config.json"));
    }

    private static void checkCanvas(int canvas) {
        if (canvas != 768 && canvas != 1024 && canvas != 1536) {
            throw new IllegalArgumentException("model size must be 768, 1024 or 1536 (got " + canvas + ")");
        }
    }
}
