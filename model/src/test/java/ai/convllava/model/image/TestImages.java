package ai.convllava.model.image;

import ai.convllava.model.api.image.RgbImage;

import java.util.Random;

/** Synthetic images for the tests. */
final class TestImages {
    private TestImages() {
    }

    /** Random noise: the hardest case for a resampler (every tap matters). */
    static RgbImage noise(int w, int h, long seed) {
        byte[] rgb = new byte[w * h * 3];
        new Random(seed).nextBytes(rgb);
        return new RgbImage(w, h, rgb);
    }

    /** A cheap structured pattern for big images: gradients plus a checker. */
    static RgbImage pattern(int w, int h) {
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        for (int y = 0; y < h; y++) {
            int o = y * w * 3;
            for (int x = 0; x < w; x++, o += 3) {
                rgb[o] = (byte) (x * 255 / (w - 1));
                rgb[o + 1] = (byte) (y * 255 / (h - 1));
                rgb[o + 2] = (byte) (((x >> 5) + (y >> 5) & 1) * 255);
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** conv-llava's expand2square, materialized. */
    static RgbImage expand2square(RgbImage img, int[] bg) {
        int w = img.width();
        int h = img.height();
        if (w == h) {
            return img;
        }
        int s = Math.max(w, h);
        RgbImage out = RgbImage.filled(s, s, bg[0], bg[1], bg[2]);
        int ox = (s - w) / 2;
        int oy = (s - h) / 2;
        for (int y = 0; y < h; y++) {
            System.arraycopy(img.rgb(), y * w * 3, out.rgb(), ((y + oy) * s + ox) * 3, w * 3);
        }
        return out;
    }

    static int maxDiff(RgbImage a, RgbImage b) {
        if (a.width() != b.width() || a.height() != b.height()) {
            throw new AssertionError("size " + a + " vs " + b);
        }
        int max = 0;
        for (int i = 0; i < a.rgb().length; i++) {
            max = Math.max(max, Math.abs((a.rgb()[i] & 0xff) - (b.rgb()[i] & 0xff)));
        }
        return max;
    }
}
