package ai.convllava.model.reliability;

import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.api.image.RgbImage;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The layouts users actually drop in render as PIL's {@code Image.open(f).convert("RGB")} does (after
 * {@code exif_transpose}): CMYK JPEG, 16-bit PNG, palette with transparency, alpha, EXIF rotation,
 * animated GIF (first frame). Complements model/image/ImageDecoderTest with the cases it lacks.
 */
class ImageFormatsTest {

    static void assertNear(RgbImage img, int x, int y, int rgb, int tol) {
        int got = img.rgbAt(x, y);
        for (int shift = 0; shift <= 16; shift += 8) {
            int a = got >> shift & 0xff;
            int b = rgb >> shift & 0xff;
            assertTrue(Math.abs(a - b) <= tol, String.format("pixel %d,%d is %06x, want ~%06x", x, y, got, rgb));
        }
    }

    @Test
    void adobeCmykJpegRendersItsInks() {
        // PIL's CMYK -> RGB is R = 255 - min(255, C + K), G and B alike; TwelveMonkeys' JPEG reader gives the same,
        // the JDK's own reader gives half cyan as (187, 255, 255) and (64, 32, 200, 10) as (221, 236, 126)
        byte[] jpg = ImageCorpus.adobeCmykJpeg(new int[][] {{255, 0, 0, 0}, {0, 0, 255, 0}, {0, 255, 0, 0}, {0, 0, 0, 255},
            {0, 0, 0, 0}, {128, 0, 0, 0}, {0, 0, 0, 128}, {64, 32, 200, 10}}, 8, 16);
        RgbImage img = ImageDecoder.decode(jpg, "print.jpg");
        assertEquals(64, img.width());
        assertNear(img, 4, 8, 0x00FFFF, 6);  // cyan
        assertNear(img, 12, 8, 0xFFFF00, 6); // yellow
        assertNear(img, 20, 8, 0xFF00FF, 6); // magenta
        assertNear(img, 28, 8, 0x000000, 6); // black
        assertNear(img, 36, 8, 0xFFFFFF, 6); // no ink
        assertNear(img, 44, 8, 0x7FFFFF, 6); // half cyan
        assertNear(img, 52, 8, 0x7F7F7F, 6); // half black
        assertNear(img, 60, 8, 0xB5D52D, 12); // (255 - 74, 255 - 42, 255 - 210), within JPEG loss
    }

    @Test
    void sixteenBitPngKeepsTheTopByteRounded() {
        RgbImage img = ImageDecoder.decode(ImageCorpus.encode(ImageCorpus.rgb16(new int[][] {{0xFFFF, 0, 0x8080},
            {0x0101 * 200, 0x0101 * 7, 0x0101 * 99}, {0x00FF, 0x0180, 0xFF7F}}), "png"), "deep.png");
        assertEquals(0xFF0080, img.rgbAt(0, 0));
        assertEquals(200 << 16 | 7 << 8 | 99, img.rgbAt(1, 0));
        // PIL's I;16 -> RGB keeps the high byte; rounding (v * 255 + 32767) / 65535 differs from it by at most 1
        assertNear(img, 2, 0, 0x0101FF, 1);
    }

    @Test
    void paletteWithTransparentEntryAndAlphaAreCompositedOnWhite() {
        IndexColorModel icm = new IndexColorModel(2, 3, new byte[] {(byte) 255, 0, 0}, new byte[] {0, (byte) 255, 0},
                new byte[] {0, 0, 0}, new byte[] {(byte) 255, (byte) 255, 0});
        BufferedImage pal = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_INDEXED, icm);
        for (int x = 0; x < 3; x++) {
            pal.getRaster().setSample(x, 0, 0, x);
        }
        RgbImage p = ImageDecoder.decode(ImageCorpus.encode(pal, "png"), "pal.png");
        assertEquals(0xFF0000, p.rgbAt(0, 0));
        assertEquals(0x00FF00, p.rgbAt(1, 0));
        assertEquals(0xFFFFFF, p.rgbAt(2, 0));
        BufferedImage argb = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x00123456);
        argb.setRGB(1, 0, 0xFF123456);
        RgbImage a = ImageDecoder.decode(ImageCorpus.encode(argb, "png"), "alpha.png");
        assertEquals(0xFFFFFF, a.rgbAt(0, 0));
        assertEquals(0x123456, a.rgbAt(1, 0));
    }

    @Test
    void exifRotatedJpegIsTurnedUpright() {
        BufferedImage src = new BufferedImage(32, 16, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 32; x++) {
                src.setRGB(x, y, x < 16 ? 0xFF0000 : 0x0000FF);
            }
        }
        RgbImage img = ImageDecoder.decode(ImageCorpus.withExifOrientation(ImageCorpus.encode(src, "jpeg"), 6), "phone.jpg");
        assertEquals(16, img.width());
        assertEquals(32, img.height());
        assertNear(img, 8, 4, 0xFF0000, 40); // rotated 90 degrees clockwise: the left half on top
        assertNear(img, 8, 28, 0x0000FF, 40);
    }

    @Test
    void animatedGifGivesItsFirstFrame() {
        BufferedImage f0 = ImageCorpus.palette(20, 12);
        BufferedImage f1 = ImageCorpus.palette(20, 12);
        for (int y = 0; y < 12; y++) {
            for (int x = 0; x < 20; x++) {
                f1.getRaster().setSample(x, y, 0, 2); // all blue
            }
        }
        RgbImage img = ImageDecoder.decode(ImageCorpus.animatedGif(new BufferedImage[] {f0, f1}), "anim.gif");
        assertEquals(20, img.width());
        assertEquals(12, img.height());
        for (int y = 0; y < 12; y++) {
            for (int x = 0; x < 20; x++) {
                assertEquals(f0.getRGB(x, y) & 0xFFFFFF, img.rgbAt(x, y), "pixel " + x + "," + y);
            }
        }
    }
}
