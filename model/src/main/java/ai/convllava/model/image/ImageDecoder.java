package ai.convllava.model.image;

import ai.convllava.model.api.image.DecodedImage;
import ai.convllava.model.api.image.ImageDecodeException;
import ai.convllava.model.api.image.RgbImage;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes PNG, JPEG, GIF (first frame), BMP and WebP (lossy, lossless, with alpha, through libwebp;
 * the first frame of an animation, through TwelveMonkeys) into 8-bit RGB with ImageIO, and the first
 * page of a PDF through {@link PdfPages}, the way a photo viewer shows them: JPEG EXIF orientation applied, grayscale / palette / 16-bit converted, alpha composited on
 * white. The pixel count is checked from the header before any pixel is allocated. Every failure is
 * an {@link ImageDecodeException} whose one-line message names the file.
 */
public final class ImageDecoder {
    /** 2^28 pixels (268 megapixels, e.g. 16384 x 16384): 805 MB as RGB, more than any camera makes. */
    public static final long DEFAULT_MAX_PIXELS = 1L << 28;
    /** The formats read, for messages. */
    public static final String SUPPORTED = "PNG, JPEG, GIF, BMP, WebP or PDF";
    /** Bytes read from the start of a file to recognise the format and find the EXIF segment. */
    private static final int HEAD_BYTES = 256 * 1024;

    private enum Format {
        PNG("png", "PNG"), JPEG("jpeg", "JPEG"), GIF("gif", "GIF"), BMP("bmp", "BMP"), WEBP("webp", "WebP");

        final String imageIoName;
        final String label;

        Format(String imageIoName, String label) {
            this.imageIoName = imageIoName;
            this.label = label;
        }
    }

    private ImageDecoder() {
    }

    public static RgbImage decode(Path path) {
        return decode(path, DEFAULT_MAX_PIXELS);
    }

    /**
     * The image in a file, or page {@code page} (1-based) of a PDF with the PDF's page count. An image
     * file has no pages: {@code page} is not used for it, and its {@link DecodedImage#pageCount} is 0.
     */
    public static DecodedImage decodeFile(Path path, int page) {
        return PdfPages.isPdf(path) ? PdfPages.page(path, page, DEFAULT_MAX_PIXELS) : new DecodedImage(decode(path), 0);
    }

    public static RgbImage decode(Path path, long maxPixels) {
        Path fileName = path.getFileName();
        String name = fileName == null ? path.toString() : fileName.toString();
        try {
            if (Files.isDirectory(path)) {
                throw new ImageDecodeException(name + " is a folder, not an image");
            }
            long size = Files.size(path);
            if (size == 0) {
                throw new ImageDecodeException(name + " is empty (0 bytes)");
            }
            byte[] head;
            int headLen;
            try (InputStream in = Files.newInputStream(path)) {
                head = in.readNBytes(HEAD_BYTES);
                headLen = head.length;
            }
            if (PdfPages.isPdf(head, headLen)) {
                return PdfPages.page(path, 1, maxPixels).image(); // a document: its first page (decodeFile for the others)
            }
            try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "r");
                 ImageInputStream iis = new FileImageInputStream(raf)) {
                return decode(iis, head, headLen, name, maxPixels);
            }
        } catch (NoSuchFileException e) {
            throw new ImageDecodeException(name + " was not found (" + path + ")", e);
        } catch (AccessDeniedException e) {
            throw new ImageDecodeException(name + " cannot be read: permission denied", e);
        } catch (IOException | RuntimeException e) {
            if (e instanceof ImageDecodeException ide) {
                throw ide;
            }
            throw new ImageDecodeException(name + " cannot be read: " + oneLine(e), e);
        }
    }

    public static RgbImage decode(byte[] bytes, String nameForMessages) {
        return decode(bytes, nameForMessages, DEFAULT_MAX_PIXELS);
    }

    public static RgbImage decode(byte[] bytes, String nameForMessages, long maxPixels) {
        String name = nameForMessages == null || nameForMessages.isBlank() ? "the image" : nameForMessages;
        if (bytes == null || bytes.length == 0) {
            throw new ImageDecodeException(name + " is empty (0 bytes)");
        }
        if (PdfPages.isPdf(bytes, bytes.length)) {
            return PdfPages.render(bytes, name, 1, maxPixels);
        }
        try (ImageInputStream iis = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            return decode(iis, bytes, bytes.length, name, maxPixels);
        } catch (IOException e) { // closing a memory stream
            throw new ImageDecodeException(name + " cannot be read: " + oneLine(e), e);
        }
    }

    private static RgbImage decode(ImageInputStream iis, byte[] head, int headLen, String name, long maxPixels) {
        Format format = sniff(head, headLen, name);
        // WebP: libwebp's reader (webp-imageio, native: decodes exactly as PIL does) for a still image;
        // for an animation, which libwebp's simple decoder refuses, TwelveMonkeys' pure-Java one (first frame)
        String preferred = format != Format.WEBP ? null : animatedWebp(head, headLen) ? "com.twelvemonkeys." : "com.luciad.imageio.webp.";
        ImageReader reader = readerFor(format, preferred, name);
        List<String> warnings = new ArrayList<>();
        try {
            reader.setInput(iis, true, true);
            reader.addIIOReadWarningListener(new IIOReadWarningListener() {
                @Override
                public void warningOccurred(ImageReader source, String warning) {
                    warnings.add(warning);
                }
            });
            int width;
            int height;
            try {
                width = reader.getWidth(0);
                height = reader.getHeight(0);
            } catch (IOException | RuntimeException e) {
                throw corrupt(name, format, e);
            }
            checkSize(name, width, height, maxPixels);
            try {
                return readPixels(reader, format, head, headLen, name, warnings);
            } catch (OutOfMemoryError e) {
                throw new ImageDecodeException(name + " (" + width + " x " + height
                        + ") does not fit in memory; try a smaller image or give the app more memory", e);
            }
        } finally {
            reader.dispose();
        }
    }

    private static RgbImage readPixels(ImageReader reader, Format format, byte[] head, int headLen, String name,
                                       List<String> warnings) {
        BufferedImage bi;
        try {
            ImageReadParam param = reader.getDefaultReadParam();
            bi = reader.read(0, param);
        } catch (IOException | RuntimeException e) {
            throw corrupt(name, format, e);
        }
        for (String w : warnings) {
            String lw = w == null ? "" : w.toLowerCase(Locale.ROOT);
            if (lw.contains("premature end") || lw.contains("truncat")) {
                throw new ImageDecodeException(name + " is truncated: " + oneLine(w));
            }
        }
        RgbImage rgb;
        try {
            rgb = toRgb(bi);
        } catch (RuntimeException e) {
            throw new ImageDecodeException(name + " uses a colour layout that cannot be converted to RGB ("
                    + describe(bi) + ")", e);
        }
        bi = null; // let the decoded copy go before a rotation allocates another
        if (format == Format.JPEG) {
            rgb = ExifOrientation.apply(rgb, ExifOrientation.read(head, headLen));
        }
        return rgb;
    }

    private static ImageDecodeException corrupt(String name, Format format, Throwable e) {
        boolean eof = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            eof |= t instanceof EOFException || t.getMessage() != null && t.getMessage().contains("NotEnoughData"); // libwebp's VP8_STATUS_NOT_ENOUGH_DATA
        }
        String what = eof ? " is truncated" : " is not a readable " + format.label + " image";
        return new ImageDecodeException(name + what + " (" + oneLine(e) + ")", e);
    }

    private static void checkSize(String name, int width, int height, long maxPixels) {
        if (width <= 0 || height <= 0) {
            throw new ImageDecodeException(name + " declares an empty size (" + width + " x " + height + ")");
        }
        long pixels = (long) width * height;
        if (pixels > maxPixels) {
            throw new ImageDecodeException(name + " is " + width + " x " + height + " (" + megapixels(pixels)
                    + " megapixels); the limit is " + megapixels(maxPixels) + " megapixels");
        }
        if (pixels * 3 > Integer.MAX_VALUE - 8) {
            throw new ImageDecodeException(name + " is " + width + " x " + height + ", too large to hold in memory");
        }
    }

    static String megapixels(long pixels) {
        if (pixels % 1_000_000 == 0) {
            return Long.toString(pixels / 1_000_000);
        }
        return String.format(Locale.ROOT, "%.1f", pixels / 1e6);
    }

    private static Format sniff(byte[] b, int len, String name) {
        if (startsWith(b, len, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            return Format.PNG;
        }
        if (startsWith(b, len, 0, 0xFF, 0xD8, 0xFF)) {
            return Format.JPEG;
        }
        if (startsWith(b, len, 0, 'G', 'I', 'F', '8')) {
            return Format.GIF;
        }
        if (startsWith(b, len, 0, 'B', 'M')) {
            return Format.BMP;
        }
        if (startsWith(b, len, 0, 'R', 'I', 'F', 'F') && startsWith(b, len, 8, 'W', 'E', 'B', 'P')) {
            return Format.WEBP;
        }
        String known = null;
        if (startsWith(b, len, 4, 'f', 't', 'y', 'p')) {
            known = "HEIC/AVIF";
        } else if (startsWith(b, len, 0, 'I', 'I', 42, 0) || startsWith(b, len, 0, 'M', 'M', 0, 42)) {
            known = "TIFF";
        }
        if (known != null) {
            throw new ImageDecodeException(name + " is a " + known
                    + " file, which is not supported; convert it to PNG or JPEG");
        }
        throw new ImageDecodeException(name + " is not a " + SUPPORTED + " file (unrecognised content)");
    }

    private static boolean startsWith(byte[] b, int len, int at, int... magic) {
        if (len < at + magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((b[at + i] & 0xff) != magic[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * The ImageIO reader for the format: the first registered one, or with {@code preferred} the first
     * whose class name starts with it (the first registered when none does); readers passed over are disposed.
     */
    private static ImageReader readerFor(Format format, String preferred, String name) {
        ImageReader fallback = null;
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(format.imageIoName); it.hasNext(); ) {
            ImageReader r = it.next();
            if (preferred == null || r.getClass().getName().startsWith(preferred)) {
                if (fallback != null) {
                    fallback.dispose();
                }
                return r;
            }
            if (fallback == null) {
                fallback = r;
            } else {
                r.dispose();
            }
        }
        if (fallback == null) {
            throw new ImageDecodeException(name + ": no " + format.label + " decoder is available in this Java runtime");
        }
        return fallback;
    }

    /** An extended WebP ({@code VP8X} first) with the animation flag set. */
    static boolean animatedWebp(byte[] b, int len) {
        return startsWith(b, len, 12, 'V', 'P', '8', 'X') && len > 20 && (b[20] & 0x02) != 0;
    }

    /** 8-bit RGB of any ImageIO result; alpha composited on white. */
    static RgbImage toRgb(BufferedImage bi) {
        int w = bi.getWidth();
        int h = bi.getHeight();
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        ColorModel cm = bi.getColorModel();
        ColorSpace cs = cm.getColorSpace();
        Raster raster = bi.getRaster();
        int csType = cs.getType();
        int transfer = raster.getTransferType();
        boolean raw = cm instanceof ComponentColorModel && !cm.isAlphaPremultiplied()
                && (transfer == DataBuffer.TYPE_BYTE || transfer == DataBuffer.TYPE_USHORT)
                && (csType == ColorSpace.TYPE_GRAY || csType == ColorSpace.TYPE_RGB)
                && raster.getNumBands() == cm.getNumComponents();
        if (raw) {
            // the stored samples as they are, as PIL reads them: no ICC or linear-gray conversion
            boolean gray = csType == ColorSpace.TYPE_GRAY;
            boolean alpha = cm.hasAlpha();
            int bands = raster.getNumBands();
            int[] bits = cm.getComponentSize();
            int[] row = new int[w * bands];
            for (int y = 0; y < h; y++) {
                raster.getPixels(0, y, w, 1, row);
                for (int x = 0; x < w; x++) {
                    int p = x * bands;
                    int r = to8(row[p], bits[0]);
                    int g = gray ? r : to8(row[p + 1], bits[1]);
                    int b = gray ? r : to8(row[p + 2], bits[2]);
                    int o = (y * w + x) * 3;
                    if (alpha) {
                        int a = to8(row[p + bands - 1], bits[bands - 1]);
                        r = onWhite(r, a);
                        g = onWhite(g, a);
                        b = onWhite(b, a);
                    }
                    out[o] = (byte) r;
                    out[o + 1] = (byte) g;
                    out[o + 2] = (byte) b;
                }
            }
        } else {
            // palette, packed (BMP 16-bit, TYPE_INT_*) and anything else: Java2D's sRGB conversion
            boolean alpha = cm.hasAlpha();
            int[] argb = new int[w];
            for (int y = 0; y < h; y++) {
                bi.getRGB(0, y, w, 1, argb, 0, w);
                for (int x = 0; x < w; x++) {
                    int v = argb[x];
                    int r = v >>> 16 & 0xff;
                    int g = v >>> 8 & 0xff;
                    int b = v & 0xff;
                    if (alpha) {
                        int a = v >>> 24;
                        r = onWhite(r, a);
                        g = onWhite(g, a);
                        b = onWhite(b, a);
                    }
                    int o = (y * w + x) * 3;
                    out[o] = (byte) r;
                    out[o + 1] = (byte) g;
                    out[o + 2] = (byte) b;
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    /** A sample of {@code bits} bits scaled to 0..255, rounded. */
    private static int to8(int v, int bits) {
        if (bits == 8) {
            return v;
        }
        long max = (1L << bits) - 1;
        return (int) ((v * 255L + max / 2) / max);
    }

    /** {@code c} over white with alpha {@code a}, rounded: a = 0 gives 255, a = 255 gives c. */
    private static int onWhite(int c, int a) {
        return (c * a + 255 * (255 - a) + 127) / 255;
    }

    private static String describe(BufferedImage bi) {
        return "type " + bi.getType() + ", " + bi.getColorModel().getClass().getSimpleName() + ", "
                + bi.getRaster().getNumBands() + " bands";
    }

    private static String oneLine(Object o) {
        String s = o instanceof Throwable t
                ? (t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage())
                : String.valueOf(o);
        Throwable cause = o instanceof Throwable t ? t.getCause() : null;
        if (cause != null && cause.getMessage() != null && !s.contains(cause.getMessage())) {
            s = s + ": " + cause.getMessage();
        }
        return s.replaceAll("\\s+", " ").trim();
    }
}
