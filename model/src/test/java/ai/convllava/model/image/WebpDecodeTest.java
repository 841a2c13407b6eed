package ai.convllava.model.image;

import ai.convllava.model.api.image.ImageDecodeException;
import ai.convllava.model.api.image.RgbImage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.convllava.model.Goldens;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * WebP through ImageDecoder, against files made by libwebp ({@code tests/fixtures/webp/make_webp.py}):
 * lossless files decode to exactly their source and lossy ones to exactly libwebp's own decoding (what
 * PIL, the reference pipeline, reads); alpha is composited on white like PNG's; an animation gives its
 * first frame; broken files are our exception naming the file.
 */
class WebpDecodeTest {
    private static final Path DIR = Goldens.FIXTURES.resolve("webp");

    private static RgbImage decode(String file) {
        return ImageDecoder.decode(DIR.resolve(file));
    }

    /** Largest and mean absolute difference of two same-size images, over all samples. */
    private static double[] difference(RgbImage a, RgbImage b) {
        assertEquals(a.width(), b.width(), "width");
        assertEquals(a.height(), b.height(), "height");
        int max = 0;
        long sum = 0;
        for (int y = 0; y < a.height(); y++) {
            for (int x = 0; x < a.width(); x++) {
                for (int c = 0; c < 3; c++) {
                    int d = Math.abs(a.sample(x, y, c) - b.sample(x, y, c));
                    max = Math.max(max, d);
                    sum += d;
                }
            }
        }
        return new double[] {max, sum / (3.0 * a.width() * a.height())};
    }

    @Test
    void losslessIsExactlyTheSource() {
        RgbImage source = ImageDecoder.decode(Goldens.TINY.resolve("images/wide.png"));
        RgbImage webp = decode("wide-lossless.webp");
        assertEquals(300, webp.width());
        assertEquals(200, webp.height());
        assertEquals(0, difference(source, webp)[0], "lossless WebP differs from its PNG source");
    }

    @Test
    void losslessAlphaIsCompositedOnWhiteLikePng() {
        double[] d = difference(decode("alpha-source.png"), decode("alpha-lossless.webp"));
        assertEquals(0, d[0], "alpha WebP composited differently from the same RGBA PNG");
    }

    @Test
    void lossyIsExactlyWhatLibwebpDecodes() {
        assertEquals(0, difference(decode("wide-lossy.libwebp.png"), decode("wide-lossy.webp"))[0], "lossy RGB");
        // VP8 + ALPH in an extended file; the reference RGBA PNG composited on white the same way
        assertEquals(0, difference(decode("alpha-lossy.libwebp.png"), decode("alpha-lossy.webp"))[0], "lossy with alpha");
    }

    @Test
    void animationGivesItsFirstFrame() {
        RgbImage source = ImageDecoder.decode(Goldens.TINY.resolve("images/wide.png"));
        assertEquals(0, difference(source, decode("animated.webp"))[0], "first frame");
    }

    @Test
    void brokenFilesAreOurException() throws IOException {
        byte[] lossy = Files.readAllBytes(DIR.resolve("wide-lossy.webp"));
        for (int cut : new int[] {12, 20}) { // inside the RIFF / chunk headers
            byte[] part = Arrays.copyOf(lossy, cut);
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(part, "cut.webp"), "cut at " + cut);
            assertTrue(e.getMessage().startsWith("cut.webp is not a readable WebP image ("), e.getMessage());
        }
        for (int cut : new int[] {40, lossy.length / 2, lossy.length - 10}) { // inside the picture data
            byte[] part = Arrays.copyOf(lossy, cut);
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(part, "cut.webp"), "cut at " + cut);
            assertTrue(e.getMessage().startsWith("cut.webp is truncated ("), e.getMessage());
        }
        byte[] headerOnly = "RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.US_ASCII);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(headerOnly, "cat.webp"));
        assertTrue(e.getMessage().startsWith("cat.webp is not a readable WebP image ("), e.getMessage());
    }

    @Test
    void animationFlagIsReadFromTheExtendedHeader() throws IOException {
        byte[] animated = Files.readAllBytes(DIR.resolve("animated.webp"));
        byte[] still = Files.readAllBytes(DIR.resolve("alpha-lossy.webp")); // extended too, alpha flag only
        assertTrue(ImageDecoder.animatedWebp(animated, animated.length));
        assertFalse(ImageDecoder.animatedWebp(still, still.length));
        assertFalse(ImageDecoder.animatedWebp(animated, 20), "header cut before the flags");
    }
}
