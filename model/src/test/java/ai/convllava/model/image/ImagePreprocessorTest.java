package ai.convllava.model.image;

import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.convllava.model.Goldens;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImagePreprocessorTest {
    private static final ImagePreprocessor TINY = ImagePreprocessor.clip(256);
    private static final ImagePreprocessor REAL = ImagePreprocessor.clip(1536);

    @ParameterizedTest
    @CsvSource({"wide,PAD,pad", "tall,PAD,pad", "wide,NATIVE,native", "tall,NATIVE,native"})
    void pixelValuesMatchGoldens(String image, CanvasMode mode, String key) {
        RgbImage img = ImageDecoder.decode(Goldens.fixtures().resolve("tiny/images/" + image + ".png"));
        PreprocessedImage p = TINY.preprocess(img, mode);
        String k = image + "." + key + ".pixel_values";
        assertArrayEquals(Goldens.shape(k), p.shape(), k + " shape");
        float[] golden = Goldens.floats(k);
        float[] ours = p.pixelValues();
        assertEquals(golden.length, ours.length);
        double max = 0;
        for (int i = 0; i < golden.length; i++) {
            max = Math.max(max, Math.abs(golden[i] - ours[i]));
        }
        System.out.println("[report] " + k + " max abs diff: " + max);
        assertTrue(max <= 0.02, k + ": max abs diff " + max);
    }

    @Test
    void clipConstants() {
        assertArrayEquals(new int[] {122, 116, 104}, TINY.background());
        assertEquals(64, TINY.stride());
        // (0 / 255 - mean) / std and (255 / 255 - mean) / std for red, in float32
        RgbImage blackWhite = new RgbImage(2, 1, new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255});
        float[] t = TINY.toTensor(blackWhite);
        assertEquals((0f - 0.48145466f) / 0.26862954f, t[0], 0f);
        assertEquals((1f - 0.48145466f) / 0.26862954f, t[1], 0f);
        assertEquals((1f - 0.40821073f) / 0.27577711f, t[5], 0f); // CHW: blue plane, x = 1
    }

    @Test
    void padGeometry() {
        CanvasGeometry g = TINY.geometry(300, 200, CanvasMode.PAD);
        assertEquals(new CanvasGeometry(256, 256, 0, 43, 256, 170, 4, 4, 64), g);
        assertEquals(16, g.tokenCount());
        CanvasGeometry tall = TINY.geometry(150, 400, CanvasMode.PAD);
        assertEquals(256, tall.canvasHeight());
        assertEquals(0, tall.imageY());
        assertEquals(96, tall.imageWidth()); // 150 * 256 / 400
        assertEquals(80, tall.imageX()); // 125 * 256 / 400
    }

    @Test
    void realCanvasReadout() {
        CanvasGeometry g = REAL.geometry(1536, 1024, CanvasMode.PAD);
        assertEquals(new CanvasGeometry(1536, 1536, 0, 256, 1536, 1024, 24, 24, 64), g);
        assertEquals(576, g.tokenCount());
        assertEquals("1536 x 1536 canvas - 24 x 24 = 576 visual tokens - image occupies 1536 x 1024", g.describe());
        // a 4000 x 3000 photo: occupies 1536 x 1152 of the square
        assertEquals("1536 x 1536 canvas - 24 x 24 = 576 visual tokens - image occupies 1536 x 1152",
                REAL.geometry(4000, 3000, CanvasMode.PAD).describe());
    }

    @Test
    void nativeGeometry() {
        CanvasGeometry wide = TINY.geometry(300, 200, CanvasMode.NATIVE);
        assertEquals(new CanvasGeometry(384, 256, 0, 0, 384, 256, 4, 6, 64), wide);
        assertEquals(24, wide.tokenCount());
        CanvasGeometry tall = TINY.geometry(150, 400, CanvasMode.NATIVE);
        assertEquals(new CanvasGeometry(256, 704, 0, 0, 256, 704, 11, 4, 64), tall);
        assertEquals(44, tall.tokenCount());
        assertEquals("256 x 704 canvas - 4 x 11 = 44 visual tokens - image occupies 256 x 704", tall.describe());
    }

    @Test
    void nativeRoundsHalfToEvenLikePython() {
        // 288 / 64 = 4.5 -> round() = 4 (Math.round would give 5); 352 / 64 = 5.5 -> 6
        assertEquals(256, TINY.geometry(288, 256, CanvasMode.NATIVE).canvasWidth());
        assertEquals(384, TINY.geometry(352, 256, CanvasMode.NATIVE).canvasWidth());
        assertEquals(256, TINY.geometry(256, 288, CanvasMode.NATIVE).canvasHeight());
        // short side 128 -> 256 (scale 2): 300 * 2 / 64 = 9.375 -> 9 -> 576
        assertEquals(576, TINY.geometry(300, 128, CanvasMode.NATIVE).canvasWidth());
    }

    @Test
    void nativeCapsExtremeAspectRatios() {
        // uncapped this would be 256000 x 256; capped: long side 4 x 256, short side max(64, round(...))
        CanvasGeometry strip = TINY.geometry(10000, 10, CanvasMode.NATIVE);
        assertEquals(1024, strip.canvasWidth());
        assertEquals(64, strip.canvasHeight());
        assertEquals(16, strip.tokenCount());
        CanvasGeometry tower = REAL.geometry(1000, 10000, CanvasMode.NATIVE);
        assertEquals(640, tower.canvasWidth()); // 1000 * 0.6144 / 64 = 9.6 -> 10
        assertEquals(6144, tower.canvasHeight());
        // the README's and the CLI help's example: a 1200 x 90 panorama at 1536 (20480 x 1536 uncapped)
        CanvasGeometry panorama = REAL.geometry(1200, 90, CanvasMode.NATIVE);
        assertEquals(6144, panorama.canvasWidth());
        assertEquals(448, panorama.canvasHeight()); // 90 * 5.12 / 64 = 7.2 -> 7
        assertEquals(96 * 7, panorama.tokenCount());
        // exactly 4:1 is not capped
        assertEquals(1024, TINY.geometry(4000, 1000, CanvasMode.NATIVE).canvasWidth());
        PreprocessedImage p = TINY.preprocess(TestImages.noise(10000, 10, 3), CanvasMode.NATIVE);
        assertEquals(1024 * 64 * 3, p.pixelValues().length);
    }

    @Test
    void onePixelImage() {
        RgbImage dot = RgbImage.filled(1, 1, 10, 200, 30);
        PreprocessedImage pad = TINY.preprocess(dot, CanvasMode.PAD);
        assertEquals(RgbImage.filled(256, 256, 10, 200, 30), pad.canvas());
        assertEquals(new CanvasGeometry(256, 256, 0, 0, 256, 256, 4, 4, 64), pad.geometry());
        PreprocessedImage nat = TINY.preprocess(dot, CanvasMode.NATIVE);
        assertEquals(256, nat.canvas().width());
        assertEquals(256, nat.canvas().height());
        assertEquals((10f / 255f - 0.48145466f) / 0.26862954f, nat.pixelValues()[0], 0f);
    }

    @Test
    void hugePhotoPreprocessesWithoutMaterializingTheSquare() {
        RgbImage photo = TestImages.pattern(12000, 9000);
        long t0 = System.nanoTime();
        PreprocessedImage p = REAL.preprocess(photo, CanvasMode.PAD);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("[report] 12000x9000 PAD -> 1536 preprocess: " + ms + " ms");
        assertEquals(1536, p.canvas().width());
        assertEquals(1536 * 1536 * 3, p.pixelValues().length);
        assertEquals(new CanvasGeometry(1536, 1536, 0, 192, 1536, 1152, 24, 24, 64), p.geometry());
        // rows 0..150 are pure padding: exactly the mean colour
        assertEquals(0x7A7468, p.canvas().rgbAt(700, 5));
        assertEquals(0x7A7468, p.canvas().rgbAt(3, 1530));
        // and the image is there: red rises left to right in the middle row
        assertTrue(p.canvas().sample(20, 768, 0) < 10 && p.canvas().sample(1515, 768, 0) > 245);
        PreprocessedImage n = REAL.preprocess(photo, CanvasMode.NATIVE);
        assertEquals(new CanvasGeometry(2048, 1536, 0, 0, 2048, 1536, 24, 32, 64), n.geometry());
    }

    @Test
    void rejectsBadConfiguration() {
        float[] m = {0.5f, 0.5f, 0.5f};
        assertThrows(IllegalArgumentException.class, () -> new ImagePreprocessor(250, m, m, 64));
        assertThrows(IllegalArgumentException.class, () -> new ImagePreprocessor(256, m, new float[] {1, 0, 1}, 64));
        assertThrows(IllegalArgumentException.class, () -> new ImagePreprocessor(256, new float[2], m, 64));
        assertThrows(IllegalArgumentException.class, () -> TINY.geometry(0, 5, CanvasMode.PAD));
    }
}
