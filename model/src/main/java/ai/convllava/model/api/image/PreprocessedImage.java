package ai.convllava.model.api.image;

/**
 * What the vision encoder gets.
 *
 * @param canvas      the resized (and, in pad mode, padded) 8-bit image, for display
 * @param pixelValues normalized float32 pixels, CHW: {@code [c * H * W + y * W + x]} (the batch-less
 *                    {@code pixel_values} tensor of shape (1, 3, H, W))
 * @param geometry    canvas size, token grid and image placement
 */
public record PreprocessedImage(RgbImage canvas, float[] pixelValues, CanvasGeometry geometry) {

    public PreprocessedImage {
        if ((long) canvas.width() * canvas.height() * 3 != pixelValues.length) {
            throw new IllegalArgumentException("pixelValues must hold 3 * " + canvas.width() + " * "
                    + canvas.height() + " floats (got " + pixelValues.length + ")");
        }
        if (geometry.canvasWidth() != canvas.width() || geometry.canvasHeight() != canvas.height()) {
            throw new IllegalArgumentException("geometry " + geometry.canvasWidth() + " x " + geometry.canvasHeight()
                    + " does not match the canvas " + canvas.width() + " x " + canvas.height());
        }
    }

    /** The tensor shape (1, 3, H, W). */
    public long[] shape() {
        return new long[] {1, 3, canvas.height(), canvas.width()};
    }
}
