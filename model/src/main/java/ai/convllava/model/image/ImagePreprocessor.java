package ai.convllava.model.image;

import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;

import java.util.Arrays;

/**
 * Turns a decoded image into the encoder's {@code pixel_values}, as conv-llava does with PIL and numpy:
 * {@code expand2square} (pad mode) or the paper's native-aspect size, PIL bicubic resize, then
 * {@code (uint8 / 255 - mean) / std} in float32.
 */
public final class ImagePreprocessor {
    /** CLIP's normalization, which ConvLLaVA's image processor uses. */
    public static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    public static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};
    /** The ConvNeXt encoder with ConvLLaVA's fifth stage downsamples by 4 * 2 * 2 * 2 * 2 = 64. */
    public static final int ENCODER_STRIDE = 64;
    /**
     * Native mode caps the canvas's long side at this many canvas sides. Without a cap the short side
     * goes to the canvas side whatever the aspect ratio, so a 10000 x 10 strip would become a
     * 256000 x 256 canvas; with it the whole image is scaled so the long side is at most
     * {@code 4 * canvasSide} (the short side then falls below the canvas side, never below one stride).
     */
    public static final int NATIVE_MAX_LONG_SIDE_FACTOR = 4;

    private final int canvasSide;
    private final float[] mean;
    private final float[] std;
    private final int stride;
    private final int[] background;
    /** (v / 255 - mean) / std for every uint8 v, per channel: the same float32 operations numpy does. */
    private final float[][] lut;

    public ImagePreprocessor(int canvasSide, float[] mean, float[] std, int stride) {
        if (stride <= 0 || canvasSide <= 0 || canvasSide % stride != 0) {
            throw new IllegalArgumentException("canvas side must be a positive multiple of the stride (got canvasSide="
                    + canvasSide + ", stride=" + stride + ")");
        }
        if (mean == null || std == null || mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 channels (got mean=" + Arrays.toString(mean)
                    + ", std=" + Arrays.toString(std) + ")");
        }
        for (int c = 0; c < 3; c++) {
            if (!(std[c] > 0) || !(mean[c] >= 0 && mean[c] <= 1)) {
                throw new IllegalArgumentException("mean must be in [0, 1] and std positive (got mean="
                        + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")");
            }
        }
        this.canvasSide = canvasSide;
        this.mean = mean.clone();
        this.std = std.clone();
        this.stride = stride;
        this.background = new int[3];
        this.lut = new float[3][256];
        for (int c = 0; c < 3; c++) {
            // conv-llava: tuple(int(x * 255) for x in image_processor.image_mean)
            background[c] = (int) (this.mean[c] * 255.0);
            for (int v = 0; v < 256; v++) {
                // numpy: a = uint8.astype(float32) / 255.0 (stays float32); (a - mean32) / std32
                float a = (float) v / 255.0f;
                lut[c][v] = (a - this.mean[c]) / this.std[c];
            }
        }
    }

    /** CLIP mean/std, stride 64: ConvLLaVA's preprocessing for a canvas of {@code canvasSide} (768, 1024, 1536). */
    public static ImagePreprocessor clip(int canvasSide) {
        return new ImagePreprocessor(canvasSide, toFloat(CLIP_MEAN), toFloat(CLIP_STD), ENCODER_STRIDE);
    }

    /** float32 of each value, as {@code np.array(values, np.float32)} rounds it. */
    private static float[] toFloat(double[] values) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        return f;
    }

    public int canvasSide() {
        return canvasSide;
    }

    public int stride() {
        return stride;
    }

    /** The pad colour, {@code int(255 * mean)}: (122, 116, 104) for CLIP. */
    public int[] background() {
        return background.clone();
    }

    /** Canvas, token grid and image placement for a {@code width x height} image; no pixels involved. */
    public CanvasGeometry geometry(int width, int height, CanvasMode mode) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive (got " + width + " x " + height + ")");
        }
        if (mode == CanvasMode.NATIVE) {
            int[] size = nativeSize(width, height);
            return new CanvasGeometry(size[0], size[1], 0, 0, size[0], size[1], size[1] / stride, size[0] / stride,
                    stride);
        }
        // expand2square pastes at ((s - w) // 2, (s - h) // 2) on s x s, then s -> canvasSide
        int s = Math.max(width, height);
        double scale = (double) canvasSide / s;
        int[] x = span((s - width) / 2, width, scale);
        int[] y = span((s - height) / 2, height, scale);
        int grid = canvasSide / stride;
        return new CanvasGeometry(canvasSide, canvasSide, x[0], y[0], x[1], y[1], grid, grid, stride);
    }

    /** [start, length] of the scaled source interval [off, off + len), at least one canvas pixel long. */
    private int[] span(int off, int len, double scale) {
        int start = (int) Math.round(off * scale);
        int end = (int) Math.round((off + len) * scale);
        int length = Math.max(1, end - start);
        start = Math.min(start, canvasSide - length);
        return new int[] {start, length};
    }

    /**
     * make_golden.py's {@code native_size}: short side to the canvas side, each side rounded (half to
     * even, as Python's {@code round}) to a multiple of the stride and at least one stride; then the
     * long-side cap of {@link #NATIVE_MAX_LONG_SIDE_FACTOR}.
     */
    int[] nativeSize(int width, int height) {
        double scale = (double) canvasSide / Math.min(width, height);
        long nw = roundToStride(width * scale);
        long nh = roundToStride(height * scale);
        long maxLong = (long) NATIVE_MAX_LONG_SIDE_FACTOR * canvasSide;
        if (Math.max(nw, nh) > maxLong) {
            scale = (double) maxLong / Math.max(width, height);
            nw = Math.min(maxLong, roundToStride(width * scale));
            nh = Math.min(maxLong, roundToStride(height * scale));
        }
        return new int[] {(int) nw, (int) nh};
    }

    /** {@code max(multiple, int(round(v / multiple)) * multiple)}. */
    private long roundToStride(double v) {
        return Math.max(stride, (long) Math.rint(v / stride) * stride);
    }

    /** The canvas and normalized CHW float32 pixels for {@code image}. */
    public PreprocessedImage preprocess(RgbImage image, CanvasMode mode) {
        CanvasGeometry g = geometry(image.width(), image.height(), mode);
        RgbImage canvas = mode == CanvasMode.NATIVE
                ? PilResize.bicubic(image, g.canvasWidth(), g.canvasHeight())
                : PilResize.padToSquareAndResize(image, background, canvasSide);
        return new PreprocessedImage(canvas, toTensor(canvas), g);
    }

    /** make_golden.py's {@code to_tensor} without the batch axis: HWC uint8 -> CHW float32. */
    float[] toTensor(RgbImage img) {
        int n = img.width() * img.height();
        byte[] rgb = img.rgb();
        float[] out = new float[3 * n];
        for (int c = 0; c < 3; c++) {
            float[] t = lut[c];
            int base = c * n;
            for (int i = 0; i < n; i++) {
                out[base + i] = t[rgb[i * 3 + c] & 0xff];
            }
        }
        return out;
    }
}
