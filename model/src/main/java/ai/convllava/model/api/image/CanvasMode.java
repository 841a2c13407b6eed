package ai.convllava.model.api.image;

/** How an image is put on the encoder's canvas. */
public enum CanvasMode {
    /**
     * Pad to a square with the mean colour, then resize to the canvas side: what ConvLLaVA was trained
     * with (conv-llava {@code expand2square}, {@code image_aspect_ratio = "pad"}). The default.
     */
    PAD,
    /**
     * The paper's section 4.3 arbitrary-aspect mode: no padding or cropping; the short side goes to the
     * canvas side and each side is rounded to the encoder's stride.
     */
    NATIVE
}
