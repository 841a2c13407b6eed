package ai.convllava.model.api.image;

import java.util.Arrays;

/**
 * An 8-bit RGB image, pixels interleaved row-major: {@code rgb[(y * width + x) * 3 + c]}, c = R, G, B.
 * The array is held as is (not copied): callers hand over ownership.
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException(
                    "image size must be positive (got width=" + width + ", height=" + height + ")");
        }
        if (rgb == null) {
            throw new IllegalArgumentException("rgb must not be null");
        }
        long expected = (long) width * height * 3;
        if (rgb.length != expected) {
            throw new IllegalArgumentException("rgb must hold width*height*3 bytes (got width=" + width
                    + ", height=" + height + ", rgb.length=" + rgb.length + ", expected " + expected + ")");
        }
    }

    /** A new image of one colour. */
    public static RgbImage filled(int width, int height, int r, int g, int b) {
        long n = (long) width * height * 3;
        if (width <= 0 || height <= 0 || n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("bad image size " + width + " x " + height);
        }
        byte[] rgb = new byte[(int) n];
        for (int i = 0; i < rgb.length; i += 3) {
            rgb[i] = (byte) r;
            rgb[i + 1] = (byte) g;
            rgb[i + 2] = (byte) b;
        }
        return new RgbImage(width, height, rgb);
    }

    /** Channel {@code c} (0 = R, 1 = G, 2 = B) of pixel (x, y), 0..255. */
    public int sample(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xff;
    }

    /** Pixel (x, y) as 0xRRGGBB. */
    public int rgbAt(int x, int y) {
        int i = (y * width + x) * 3;
        return (rgb[i] & 0xff) << 16 | (rgb[i + 1] & 0xff) << 8 | (rgb[i + 2] & 0xff);
    }

    public long pixelCount() {
        return (long) width * height;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage other && width == other.width && height == other.height
                && Arrays.equals(rgb, other.rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + " x " + height + "]";
    }
}
