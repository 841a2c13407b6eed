package ai.convllava.model.image;

import ai.convllava.model.api.image.RgbImage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.convllava.model.Goldens;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PilResizeTest {
    private static final int[] CLIP_BG = {122, 116, 104};

    private static Path images() {
        return Goldens.fixtures().resolve("tiny/images");
    }

    /** expand2square + PIL bicubic 256 against the canvases PIL wrote: wide pads rows, tall pads columns. */
    @ParameterizedTest
    @ValueSource(strings = {"wide", "tall"})
    void padCanvasMatchesPil(String name) {
        RgbImage src = ImageDecoder.decode(images().resolve(name + ".png"));
        RgbImage expected = ImageDecoder.decode(images().resolve(name + "-canvas.png"));
        RgbImage ours = PilResize.padToSquareAndResize(src, CLIP_BG, 256);
        int diff = TestImages.maxDiff(ours, expected);
        System.out.println("[report] " + name + " pad canvas max grey-level diff vs PIL: " + diff);
        // the port is bit-exact (Java's double math is IEEE, as PIL's C is on x86-64): hold it to 0, not 1
        assertEquals(0, diff, name + ": max diff " + diff + " grey levels");
    }

    @Test
    void virtualPaddingEqualsMaterializedPadding() {
        for (int[] size : new int[][] {{37, 20}, {20, 37}, {64, 7}, {5, 300}, {31, 30}, {9, 9}}) {
            RgbImage img = TestImages.noise(size[0], size[1], size[0] * 1000L + size[1]);
            for (int side : new int[] {8, 16, 64, 100}) {
                RgbImage fast = PilResize.padToSquareAndResize(img, CLIP_BG, side);
                RgbImage plain = PilResize.bicubic(TestImages.expand2square(img, CLIP_BG), side, side);
                assertEquals(plain, fast, size[0] + "x" + size[1] + " -> " + side);
            }
        }
    }

    @Test
    void sameSizeIsACopy() {
        RgbImage img = TestImages.noise(13, 7, 1);
        RgbImage out = PilResize.bicubic(img, 13, 7);
        assertEquals(img, out);
        assertTrue(out.rgb() != img.rgb(), "a copy, not the same array");
    }

    @Test
    void constantImageStaysConstantUpAndDown() {
        RgbImage img = RgbImage.filled(50, 30, 200, 17, 99);
        for (int[] s : new int[][] {{7, 3}, {50, 61}, {123, 30}, {1, 1}, {400, 3}}) {
            RgbImage out = PilResize.bicubic(img, s[0], s[1]);
            assertEquals(RgbImage.filled(s[0], s[1], 200, 17, 99), out, s[0] + "x" + s[1]);
        }
    }

    @Test
    void overshootIsClippedNotWrapped() {
        // a hard black/white edge upscaled: bicubic's negative lobes overshoot below 0 and above 255
        RgbImage img = new RgbImage(2, 1, new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255});
        RgbImage out = PilResize.bicubic(img, 8, 1);
        assertEquals(0, out.sample(0, 0, 0));
        assertEquals(255, out.sample(7, 0, 0));
        for (int x = 1; x < 8; x++) {
            assertTrue(out.sample(x, 0, 0) >= out.sample(x - 1, 0, 0), "monotone after clipping at " + x);
        }
    }

    @Test
    void downscaleAntialiases() {
        // 1-pixel stripes downscaled 8x: PIL's widened support averages them to mid grey;
        // a point-sampling bicubic would return pure black or white
        byte[] rgb = new byte[64 * 4 * 3];
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 64; x++) {
                byte v = (byte) (x % 2 == 0 ? 0 : 255);
                int o = (y * 64 + x) * 3;
                rgb[o] = v;
                rgb[o + 1] = v;
                rgb[o + 2] = v;
            }
        }
        RgbImage out = PilResize.bicubic(new RgbImage(64, 4, rgb), 8, 4);
        for (int x = 1; x < 7; x++) {
            int v = out.sample(x, 2, 0);
            assertTrue(Math.abs(v - 127.5) <= 2, "column " + x + " = " + v);
        }
    }

    @Test
    void coefficientsFollowPil() {
        // 4 -> 2: scale 2, support 4, ksize 9; taps are normalized and sum to ~1 << 22
        PilResize.Coeffs c = PilResize.precomputeCoeffs(4, 0f, 4f, 2);
        assertEquals(9, c.ksize());
        assertEquals(0, c.bounds()[0]);
        assertEquals(4, c.bounds()[1]);
        int sum = 0;
        for (int i = 0; i < 4; i++) {
            sum += c.kk()[i];
        }
        assertTrue(Math.abs(sum - (1 << 22)) <= 4, "sum " + sum);
        // symmetric filter around center 1.0: taps at 0.5, 1.5 equal, 2.5 and -0.5... (x - center + 0.5)
        assertEquals(c.kk()[0], c.kk()[1]);
        assertNotEquals(c.kk()[1], c.kk()[2]);
        assertEquals(1.0, PilResize.bicubicFilter(0), 0);
        assertEquals(0.0, PilResize.bicubicFilter(2), 0);
        assertEquals(-0.0625, PilResize.bicubicFilter(1.5), 1e-15);
        assertEquals(0, PilResize.clip8(-5 << 22));
        assertEquals(255, PilResize.clip8(300 << 22));
        assertEquals(17, PilResize.clip8((17 << 22) + (1 << 21)));
    }

    @Test
    void bigPhotoResizesInSeconds() {
        RgbImage photo = TestImages.pattern(12000, 9000);
        long t0 = System.nanoTime();
        RgbImage out = PilResize.bicubic(photo, 1536, 1536);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("[report] 12000x9000 -> 1536x1536 bicubic: " + ms + " ms");
        assertEquals(1536, out.width());
        assertEquals(1536, out.height());
        // the horizontal gradient survives the resize: red grows left to right
        assertTrue(out.sample(10, 700, 0) < 10 && out.sample(1525, 700, 0) > 245);
        assertTrue(ms < 30_000, "took " + ms + " ms");
    }
}
