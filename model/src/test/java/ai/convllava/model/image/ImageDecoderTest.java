package ai.convllava.model.image;

import ai.convllava.model.api.image.ImageDecodeException;
import ai.convllava.model.api.image.RgbImage;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.convllava.model.Goldens;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDecoderTest {

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "ImageIO has a " + format + " writer for this image type");
        return out.toByteArray();
    }

    private static void assertRgb(RgbImage img, int x, int y, int r, int g, int b) {
        assertEquals(String.format("(%d, %d, %d)", r, g, b),
                String.format("(%d, %d, %d)", img.sample(x, y, 0), img.sample(x, y, 1), img.sample(x, y, 2)),
                "pixel " + x + "," + y);
    }

    private static void assertRgbNear(RgbImage img, int x, int y, int r, int g, int b, int tol) {
        int[] got = {img.sample(x, y, 0), img.sample(x, y, 1), img.sample(x, y, 2)};
        int[] want = {r, g, b};
        for (int c = 0; c < 3; c++) {
            assertTrue(Math.abs(got[c] - want[c]) <= tol,
                    "pixel " + x + "," + y + " is " + Arrays.toString(got) + ", want ~" + Arrays.toString(want));
        }
    }

    @Test
    void decodesFixturePngFromPathAndBytesAlike() throws IOException {
        Path file = Goldens.fixtures().resolve("tiny/images/wide.png");
        RgbImage wide = ImageDecoder.decode(file);
        assertEquals(300, wide.width());
        assertEquals(200, wide.height());
        assertEquals(wide, ImageDecoder.decode(Files.readAllBytes(file), "wide.png"));
        assertFalse(wide.rgbAt(0, 0) == wide.rgbAt(299, 199));
    }

    @Test
    void emptyFileIsRefused(@TempDir Path dir) throws IOException {
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> ImageDecoder.decode(new byte[0], "empty.png"));
        assertEquals("empty.png is empty (0 bytes)", e.getMessage());
        Path f = Files.write(dir.resolve("zero.jpg"), new byte[0]);
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(f));
        assertEquals("zero.jpg is empty (0 bytes)", e.getMessage());
    }

    @Test
    void truncatedPngIsRefused() throws IOException {
        byte[] png = Files.readAllBytes(Goldens.fixtures().resolve("tiny/images/wide.png"));
        // (cutting only the last ~20 bytes, IEND and checksums, leaves every pixel decodable: ImageIO accepts it)
        for (int cut : new int[] {8, 20, 40, png.length / 2, png.length - 30}) {
            byte[] part = Arrays.copyOf(png, cut);
            ImageDecodeException e = assertThrows(ImageDecodeException.class,
                    () -> ImageDecoder.decode(part, "cut.png"), "cut at " + cut);
            assertTrue(e.getMessage().startsWith("cut.png "), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            System.out.println("[report] truncated at " + cut + ": " + e.getMessage());
        }
    }

    @Test
    void truncatedJpegIsRefused() throws IOException {
        byte[] jpg = encode(photoLike(64, 48), "jpeg");
        // cut inside the entropy-coded data: libjpeg only warns ("Premature end of JPEG file")
        byte[] part = Arrays.copyOf(jpg, jpg.length - 40);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(part, "part.jpg"));
        assertTrue(e.getMessage().startsWith("part.jpg is truncated"), e.getMessage());
        // cut inside the headers: the reader fails outright
        byte[] head = Arrays.copyOf(jpg, 300);
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(head, "head.jpg"));
        assertTrue(e.getMessage().startsWith("head.jpg "), e.getMessage());
    }

    @Test
    void unknownAndUnsupportedFormats(@TempDir Path dir) throws IOException {
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> ImageDecoder.decode("hello, world".getBytes(StandardCharsets.US_ASCII), "notes.png"));
        assertEquals("notes.png is not a PNG, JPEG, GIF, BMP, WebP or PDF file (unrecognised content)", e.getMessage());
        // a PNG signature followed by garbage: the PNG reader fails, still our exception
        byte[] junk = new byte[200];
        System.arraycopy(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10}, 0, junk, 0, 8);
        Arrays.fill(junk, 8, 200, (byte) 0x5A);
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(junk, "junk.png"));
        assertTrue(e.getMessage().startsWith("junk.png "), e.getMessage());
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(dir.resolve("missing.png")));
        assertTrue(e.getMessage().startsWith("missing.png was not found"), e.getMessage());
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(dir));
        assertTrue(e.getMessage().endsWith("is a folder, not an image"), e.getMessage());
    }

    @Test
    void hugeDeclaredSizeIsRefusedFromTheHeader() {
        byte[] png = pngHeaderOnly(100000, 100000);
        assertTrue(png.length < 100);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(png, "image.png"));
        assertEquals("image.png is 100000 x 100000 (10000 megapixels); the limit is 268.4 megapixels", e.getMessage());
        // the same header under a raised limit gets past the check and fails on the missing data instead
        ImageDecodeException e2 = assertThrows(ImageDecodeException.class,
                () -> ImageDecoder.decode(pngHeaderOnly(300, 200), "small.png"));
        assertFalse(e2.getMessage().contains("megapixels"), e2.getMessage());
    }

    @Test
    void hugeBmpHeaderIsRefusedToo() {
        // 1 bit per pixel, so ImageIO's own overflow check (width * height * bpp) lets it through to ours
        ByteBuffer bmp = ByteBuffer.allocate(62).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        bmp.put((byte) 'B').put((byte) 'M').putInt(62).putInt(0).putInt(62); // file header
        bmp.putInt(40).putInt(20000).putInt(17000).putShort((short) 1).putShort((short) 1) // BITMAPINFOHEADER
                .putInt(0).putInt(0).putInt(2835).putInt(2835).putInt(2).putInt(0);
        bmp.putInt(0).putInt(0xFFFFFF); // two palette entries
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> ImageDecoder.decode(bmp.array(), "scan.bmp"));
        assertEquals("scan.bmp is 20000 x 17000 (340 megapixels); the limit is 268.4 megapixels", e.getMessage());
    }

    @Test
    void pixelLimitIsConfigurable() throws IOException {
        byte[] png = encode(photoLike(40, 30), "png");
        assertEquals(40, ImageDecoder.decode(png, "a.png", 1200).width());
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(png, "a.png", 1199));
        assertTrue(e.getMessage().contains("40 x 30"), e.getMessage());
    }

    @Test
    void grayscalePngKeepsItsLevels() throws IOException {
        BufferedImage gray = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(0, 0, 0, 0);
        gray.getRaster().setSample(1, 0, 0, 100);
        gray.getRaster().setSample(2, 0, 0, 255);
        RgbImage img = ImageDecoder.decode(encode(gray, "png"), "gray.png");
        // stored levels as they are (Java2D's getRGB would gamma-map 100 to about 166)
        assertRgb(img, 0, 0, 0, 0, 0);
        assertRgb(img, 1, 0, 100, 100, 100);
        assertRgb(img, 2, 0, 255, 255, 255);
    }

    @Test
    void sixteenBitPngs() throws IOException {
        BufferedImage gray16 = new BufferedImage(3, 1, BufferedImage.TYPE_USHORT_GRAY);
        gray16.getRaster().setSample(0, 0, 0, 0x1234);
        gray16.getRaster().setSample(1, 0, 0, 0x8080);
        gray16.getRaster().setSample(2, 0, 0, 0xFFFF);
        RgbImage g = ImageDecoder.decode(encode(gray16, "png"), "gray16.png");
        assertRgb(g, 0, 0, 18, 18, 18);
        assertRgb(g, 1, 0, 128, 128, 128);
        assertRgb(g, 2, 0, 255, 255, 255);

        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster r = cm.createCompatibleWritableRaster(2, 1);
        r.setPixel(0, 0, new int[] {0xFFFF, 0x0000, 0x8080});
        r.setPixel(1, 0, new int[] {0x0101 * 200, 0x0101 * 7, 0x0101 * 99});
        BufferedImage rgb16 = new BufferedImage(cm, r, false, null);
        RgbImage c = ImageDecoder.decode(encode(rgb16, "png"), "rgb16.png");
        assertRgb(c, 0, 0, 255, 0, 128);
        assertRgb(c, 1, 0, 200, 7, 99);
    }

    @Test
    void palettePngWithTransparency() throws IOException {
        byte[] reds = {(byte) 255, 0, 0, 0};
        byte[] greens = {0, (byte) 255, 0, 0};
        byte[] blues = {0, 0, (byte) 255, 0};
        byte[] alphas = {(byte) 255, (byte) 255, (byte) 255, 0};
        IndexColorModel icm = new IndexColorModel(2, 4, reds, greens, blues, alphas);
        BufferedImage pal = new BufferedImage(4, 1, BufferedImage.TYPE_BYTE_INDEXED, icm);
        for (int x = 0; x < 4; x++) {
            pal.getRaster().setSample(x, 0, 0, x);
        }
        RgbImage img = ImageDecoder.decode(encode(pal, "png"), "palette.png");
        assertRgb(img, 0, 0, 255, 0, 0);
        assertRgb(img, 1, 0, 0, 255, 0);
        assertRgb(img, 2, 0, 0, 0, 255);
        assertRgb(img, 3, 0, 255, 255, 255); // transparent palette entry (black) composited on white
    }

    @Test
    void alphaIsCompositedOnWhite() throws IOException {
        BufferedImage argb = new BufferedImage(3, 1, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(0, 0, 0x00000000); // fully transparent black
        argb.setRGB(1, 0, 0x80000000); // half transparent black
        argb.setRGB(2, 0, 0xFF102030); // opaque
        RgbImage img = ImageDecoder.decode(encode(argb, "png"), "alpha.png");
        assertRgb(img, 0, 0, 255, 255, 255);
        assertRgb(img, 1, 0, 127, 127, 127); // 255 * (255 - 128) / 255 = 127
        assertRgb(img, 2, 0, 0x10, 0x20, 0x30);

        BufferedImage grayAlpha = new BufferedImage(new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY),
                true, false, Transparency.TRANSLUCENT, DataBuffer.TYPE_BYTE),
                new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), true, false,
                        Transparency.TRANSLUCENT, DataBuffer.TYPE_BYTE).createCompatibleWritableRaster(2, 1), false, null);
        grayAlpha.getRaster().setPixel(0, 0, new int[] {50, 0});
        grayAlpha.getRaster().setPixel(1, 0, new int[] {50, 255});
        RgbImage ga = ImageDecoder.decode(encode(grayAlpha, "png"), "gray-alpha.png");
        assertRgb(ga, 0, 0, 255, 255, 255);
        assertRgb(ga, 1, 0, 50, 50, 50);
    }

    @Test
    void gifFirstFrame() throws IOException {
        byte[] r = {(byte) 255, 0, 0, (byte) 250};
        byte[] g = {0, 0, (byte) 255, (byte) 250};
        byte[] b = {0, (byte) 255, 0, (byte) 250};
        IndexColorModel icm = new IndexColorModel(8, 4, r, g, b);
        // at least 8 rows: ImageIO's own GIF writer/reader round trip garbles interlaced images under 8 rows
        BufferedImage pal = new BufferedImage(5, 8, BufferedImage.TYPE_BYTE_INDEXED, icm);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 5; x++) {
                pal.getRaster().setSample(x, y, 0, (x + y) % 4);
            }
        }
        RgbImage img = ImageDecoder.decode(encode(pal, "gif"), "anim.gif");
        assertEquals(5, img.width());
        assertEquals(8, img.height());
        assertRgb(img, 0, 0, 255, 0, 0);
        assertRgb(img, 1, 0, 0, 0, 255);
        assertRgb(img, 2, 0, 0, 255, 0);
        assertRgb(img, 3, 0, 250, 250, 250);
        assertRgb(img, 0, 1, 0, 0, 255);
        assertRgb(img, 4, 7, 250, 250, 250); // (4 + 7) % 4 = 3
    }

    @Test
    void bmp24AndPalette() throws IOException {
        BufferedImage bgr = new BufferedImage(3, 2, BufferedImage.TYPE_3BYTE_BGR);
        bgr.setRGB(0, 0, 0xFF0000);
        bgr.setRGB(1, 0, 0x00FF00);
        bgr.setRGB(2, 1, 0x123456);
        RgbImage img = ImageDecoder.decode(encode(bgr, "bmp"), "pic.bmp");
        assertEquals(3, img.width());
        assertEquals(2, img.height());
        assertRgb(img, 0, 0, 255, 0, 0);
        assertRgb(img, 1, 0, 0, 255, 0);
        assertRgb(img, 2, 1, 0x12, 0x34, 0x56);
        assertRgb(img, 0, 1, 0, 0, 0);

        BufferedImage gray = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_GRAY);
        gray.getRaster().setSample(1, 0, 0, 77);
        RgbImage gi = ImageDecoder.decode(encode(gray, "bmp"), "gray.bmp");
        assertRgb(gi, 1, 0, 77, 77, 77);
    }

    @Test
    void jpegExifOrientation6IsRotatedClockwise(@TempDir Path dir) throws IOException {
        // 32 x 16: left half red, right half blue
        BufferedImage src = new BufferedImage(32, 16, BufferedImage.TYPE_3BYTE_BGR);
        Graphics2D gr = src.createGraphics();
        gr.setColor(Color.RED);
        gr.fillRect(0, 0, 16, 16);
        gr.setColor(Color.BLUE);
        gr.fillRect(16, 0, 16, 16);
        gr.dispose();
        byte[] plain = encode(src, "jpeg");

        RgbImage upright = ImageDecoder.decode(plain, "plain.jpg");
        assertEquals(32, upright.width());
        assertRgbNear(upright, 4, 8, 255, 0, 0, 40);

        RgbImage rotated = ImageDecoder.decode(withExifOrientation(plain, 6, false), "phone.jpg");
        assertEquals(16, rotated.width());
        assertEquals(32, rotated.height());
        // rotating 90 degrees clockwise puts the left (red) half on top
        assertRgbNear(rotated, 8, 4, 255, 0, 0, 40);
        assertRgbNear(rotated, 8, 28, 0, 0, 255, 40);

        // orientation 8 (counter-clockwise), little-endian TIFF: red at the bottom
        RgbImage ccw = ImageDecoder.decode(withExifOrientation(plain, 8, true), "phone8.jpg");
        assertEquals(16, ccw.width());
        assertRgbNear(ccw, 8, 28, 255, 0, 0, 40);
        assertRgbNear(ccw, 8, 4, 0, 0, 255, 40);

        // the same from a file
        Path file = Files.write(dir.resolve("IMG_0001.JPG"), withExifOrientation(plain, 6, false));
        RgbImage fromFile = ImageDecoder.decode(file);
        assertEquals(16, fromFile.width());
        assertRgbNear(fromFile, 8, 4, 255, 0, 0, 40);

        // 3: upside down, so red on the right
        RgbImage flipped = ImageDecoder.decode(withExifOrientation(plain, 3, false), "phone3.jpg");
        assertEquals(32, flipped.width());
        assertRgbNear(flipped, 28, 8, 255, 0, 0, 40);
    }

    @Test
    void allEightOrientations() {
        // 3 x 2 image with pixel values 1..6:  1 2 3 / 4 5 6
        RgbImage img = new RgbImage(3, 2, new byte[] {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6});
        String[] expected = {
            null,
            "3x2 123456", // 1
            "3x2 321654", // 2 mirror
            "3x2 654321", // 3 rotate 180
            "3x2 456123", // 4 flip
            "2x3 142536", // 5 transpose
            "2x3 415263", // 6 rotate 90 cw
            "2x3 635241", // 7 transverse
            "2x3 362514", // 8 rotate 90 ccw
        };
        for (int o = 1; o <= 8; o++) {
            RgbImage t = ExifOrientation.apply(img, o);
            StringBuilder s = new StringBuilder(t.width() + "x" + t.height() + " ");
            for (int i = 0; i < t.rgb().length; i += 3) {
                s.append(t.rgb()[i]);
            }
            assertEquals(expected[o], s.toString(), "orientation " + o);
        }
    }

    @Test
    void malformedExifIsIgnored() throws IOException {
        byte[] plain = encode(photoLike(8, 4), "jpeg");
        byte[] bad = withExifOrientation(plain, 6, false);
        // corrupt the TIFF magic: the tag is no longer trusted, the image still loads upright
        bad[2 + 4 + 6 + 3] = 0x11;
        RgbImage img = ImageDecoder.decode(bad, "odd.jpg");
        assertEquals(8, img.width());
        assertEquals(1, ExifOrientation.read(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE1, 0, 1}, 6));
    }

    /** A JPEG with an APP1 Exif segment (IFD0 holding only the orientation tag) spliced in after SOI. */
    static byte[] withExifOrientation(byte[] jpeg, int orientation, boolean littleEndian) {
        ByteBuffer tiff = ByteBuffer.allocate(26).order(littleEndian
                ? java.nio.ByteOrder.LITTLE_ENDIAN : java.nio.ByteOrder.BIG_ENDIAN);
        tiff.put((byte) (littleEndian ? 'I' : 'M')).put((byte) (littleEndian ? 'I' : 'M'));
        tiff.putShort((short) 42).putInt(8); // magic, IFD0 offset
        tiff.putShort((short) 1); // one entry
        tiff.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
        tiff.putInt(0); // no next IFD
        byte[] exif = "Exif\0\0".getBytes(StandardCharsets.ISO_8859_1);
        int segLen = 2 + exif.length + tiff.capacity();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(jpeg, 0, 2); // SOI
        out.write(0xFF);
        out.write(0xE1);
        out.write(segLen >> 8);
        out.write(segLen & 0xff);
        out.write(exif, 0, exif.length);
        out.write(tiff.array(), 0, tiff.capacity());
        out.write(jpeg, 2, jpeg.length - 2);
        return out.toByteArray();
    }

    /** PNG signature, an IHDR declaring width x height RGB 8-bit, IEND: no pixel data at all. */
    static byte[] pngHeaderOnly(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    private static BufferedImage photoLike(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 255 / w) << 16 | (y * 255 / h) << 8 | 128);
            }
        }
        return img;
    }
}
