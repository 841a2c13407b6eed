package ai.convllava.model.reliability;

import ai.convllava.model.Goldens;

import java.awt.Color;
import java.awt.GradientPaint;
import java.awt.Graphics2D;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/** Small valid images of every layout the decoder handles, made with ImageIO (plus the fixture PNGs and WebPs). */
final class ImageCorpus {
    private ImageCorpus() {
    }

    /** Name (with extension, which says the format) to file bytes. */
    static Map<String, byte[]> seeds() {
        Map<String, byte[]> s = new LinkedHashMap<>();
        try {
            s.put("fixture-wide.png", Files.readAllBytes(Goldens.TINY.resolve("images/wide.png")));
            s.put("fixture-tall.png", Files.readAllBytes(Goldens.TINY.resolve("images/tall.png")));
            // WebP made by libwebp (tests/fixtures/webp): lossy (VP8), lossless (VP8L), extended with alpha
            // (VP8X + ALPH + VP8) and animated (VP8X + ANIM + ANMF, TwelveMonkeys' reader)
            for (String webp : new String[] {"wide-lossy.webp", "wide-lossless.webp", "alpha-lossy.webp", "animated.webp"}) {
                s.put(webp, Files.readAllBytes(Goldens.FIXTURES.resolve("webp").resolve(webp)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        s.put("rgb.png", encode(photo(40, 28, BufferedImage.TYPE_3BYTE_BGR), "png"));
        s.put("rgba.png", encode(photo(33, 21, BufferedImage.TYPE_INT_ARGB), "png"));
        s.put("gray16.png", encode(gray16(24, 18), "png"));
        s.put("palette.png", encode(palette(30, 20), "png"));
        s.put("baseline.jpg", encode(photo(48, 32, BufferedImage.TYPE_3BYTE_BGR), "jpeg"));
        s.put("progressive.jpg", progressiveJpeg(photo(40, 40, BufferedImage.TYPE_3BYTE_BGR)));
        s.put("gray.jpg", encode(photo(32, 24, BufferedImage.TYPE_BYTE_GRAY), "jpeg"));
        s.put("exif6.jpg", withExifOrientation(encode(photo(32, 16, BufferedImage.TYPE_3BYTE_BGR), "jpeg"), 6));
        s.put("cmyk.jpg", adobeCmykJpeg(new int[][] {{255, 0, 0, 0}, {0, 0, 255, 0}, {0, 255, 0, 0}, {0, 0, 0, 255}}, 8, 16));
        s.put("static.gif", encode(palette(25, 16), "gif"));
        s.put("animated.gif", animatedGif(new BufferedImage[] {palette(20, 12), shifted(palette(20, 12))}));
        s.put("rgb24.bmp", encode(photo(21, 13, BufferedImage.TYPE_3BYTE_BGR), "bmp"));
        s.put("palette8.bmp", encode(palette(19, 11), "bmp"));
        s.put("page.pdf", ai.convllava.model.image.PdfPages.textPage(200, 120, "Total 42")); // a line of text, as an invoice has
        return s;
    }

    static byte[] encode(BufferedImage img, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, out)) {
                throw new IllegalStateException("no " + format + " writer for " + img);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static BufferedImage photo(int w, int h, int type) {
        BufferedImage img = new BufferedImage(w, h, type);
        Graphics2D g = img.createGraphics();
        g.setPaint(new GradientPaint(0, 0, new Color(200, 30, 40, 255), w, h, new Color(20, 90, 220, 120)));
        g.fillRect(0, 0, w, h);
        g.setColor(Color.YELLOW);
        g.fillOval(w / 4, h / 4, w / 2, h / 2);
        g.dispose();
        return img;
    }

    static BufferedImage gray16(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, (x * 65535 / w + y * 977) & 0xffff);
            }
        }
        return img;
    }

    static BufferedImage palette(int w, int h) {
        byte[] r = {(byte) 255, 0, 0, (byte) 250, 10, (byte) 128, 0, (byte) 255};
        byte[] g = {0, (byte) 255, 0, (byte) 250, 10, (byte) 128, (byte) 255, 0};
        byte[] b = {0, 0, (byte) 255, (byte) 250, 10, (byte) 128, (byte) 255, (byte) 255};
        IndexColorModel icm = new IndexColorModel(8, 8, r, g, b);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, icm);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, (x / 3 + y / 2) % 8);
            }
        }
        return img;
    }

    private static BufferedImage shifted(BufferedImage img) {
        BufferedImage o = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_BYTE_INDEXED,
                (IndexColorModel) img.getColorModel());
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                o.getRaster().setSample(x, y, 0, (img.getRaster().getSample(x, y, 0) + 3) % 8);
            }
        }
        return o;
    }

    /** 16-bit RGB PNG pixels (the decoder keeps the top 8 bits, rounded). */
    static BufferedImage rgb16(int[][] pixels16) {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster r = cm.createCompatibleWritableRaster(pixels16.length, 1);
        for (int x = 0; x < pixels16.length; x++) {
            r.setPixel(x, 0, pixels16[x]);
        }
        return new BufferedImage(cm, r, false, null);
    }

    static byte[] progressiveJpeg(BufferedImage img) {
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            w.setOutput(ios);
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            w.write(null, new IIOImage(img, null, null), p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            w.dispose();
        }
        return out.toByteArray();
    }

    /**
     * A CMYK JPEG as Photoshop (and PIL) write it: an Adobe APP14 segment (transform 0) and inverted
     * samples. {@code inks[i]} = (C, M, Y, K) 0..255 of the i-th vertical band, each {@code band} wide.
     */
    static byte[] adobeCmykJpeg(int[][] inks, int band, int height) {
        int w = inks.length * band;
        WritableRaster r = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, height, 4, null);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < w; x++) {
                int[] ink = inks[x / band];
                r.setPixel(x, y, new int[] {255 - ink[0], 255 - ink[1], 255 - ink[2], 255 - ink[3]});
            }
        }
        ImageWriter wr = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            wr.setOutput(ios);
            ImageWriteParam p = wr.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(1f);
            wr.write(null, new IIOImage(r, null, null), p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            wr.dispose();
        }
        byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0};
        return insertAfterSoi(out.toByteArray(), app14);
    }

    /** A GIF holding {@code frames} in sequence (an animation). */
    static byte[] animatedGif(BufferedImage[] frames) {
        ImageWriter w = ImageIO.getImageWritersByFormatName("gif").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            w.setOutput(ios);
            w.prepareWriteSequence(null);
            for (BufferedImage f : frames) {
                w.writeToSequence(new IIOImage(f, null, null), null);
            }
            w.endWriteSequence();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            w.dispose();
        }
        return out.toByteArray();
    }

    /** A JPEG with an APP1 Exif segment whose IFD0 holds only the orientation tag (big-endian TIFF). */
    static byte[] withExifOrientation(byte[] jpeg, int orientation) {
        ByteBuffer tiff = ByteBuffer.allocate(26).order(ByteOrder.BIG_ENDIAN);
        tiff.put((byte) 'M').put((byte) 'M').putShort((short) 42).putInt(8).putShort((short) 1);
        tiff.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
        tiff.putInt(0);
        byte[] exif = "Exif\0\0".getBytes(StandardCharsets.ISO_8859_1);
        int segLen = 2 + exif.length + tiff.capacity();
        ByteArrayOutputStream seg = new ByteArrayOutputStream();
        seg.write(0xFF);
        seg.write(0xE1);
        seg.write(segLen >> 8);
        seg.write(segLen & 0xff);
        seg.writeBytes(exif);
        seg.writeBytes(tiff.array());
        return insertAfterSoi(jpeg, seg.toByteArray());
    }

    private static byte[] insertAfterSoi(byte[] jpeg, byte[] segment) {
        byte[] j = new byte[jpeg.length + segment.length];
        System.arraycopy(jpeg, 0, j, 0, 2);
        System.arraycopy(segment, 0, j, 2, segment.length);
        System.arraycopy(jpeg, 2, j, 2 + segment.length, jpeg.length - 2);
        return j;
    }
}
