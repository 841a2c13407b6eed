package ai.convllava.model.image;

import ai.convllava.model.api.image.DecodedImage;
import ai.convllava.model.api.image.ImageDecodeException;
import ai.convllava.model.api.image.RgbImage;
import org.apache.pdfbox.Loader;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.encryption.InvalidPasswordException;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.apache.pdfbox.rendering.ImageType;
import org.apache.pdfbox.rendering.PDFRenderer;
import org.apache.pdfbox.util.Version;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Pages of a PDF as images, rendered with Apache PDFBox (pure Java; a PDF renderer is not something
 * to write by hand). A page is rendered so that its long side is {@link #LONG_SIDE} pixels, above
 * ConvLLaVA's largest canvas (1536), so the resize to the canvas only ever shrinks it, whatever the
 * page size in points; the size is checked against the pixel limit before anything is drawn. Every
 * failure is an {@link ImageDecodeException} whose message names the file (and the page).
 */
public final class PdfPages {
    /** Pixels on a rendered page's long side. */
    public static final int LONG_SIDE = 2048;

    private PdfPages() {
    }

    /** Whether the file starts as a PDF does ({@code %PDF-}). */
    public static boolean isPdf(Path path) {
        try (InputStream in = Files.newInputStream(path)) {
            byte[] head = in.readNBytes(5);
            return isPdf(head, head.length);
        } catch (IOException e) {
            return false;
        }
    }

    static boolean isPdf(byte[] head, int len) {
        return len >= 5 && head[0] == '%' && head[1] == 'P' && head[2] == 'D' && head[3] == 'F' && head[4] == '-';
    }

    /**
     * Page {@code page} (1-based) as RGB, its long side {@link #LONG_SIDE} pixels, and the document's
     * page count, from one reading of the file.
     */
    public static DecodedImage page(Path path, int page, long maxPixels) {
        String name = nameOf(path);
        try (PDDocument doc = open(path, name)) {
            return new DecodedImage(render(doc, name, page, maxPixels), doc.getNumberOfPages());
        } catch (IOException e) { // closing
            throw new ImageDecodeException(name + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** The number of pages, without rendering any. */
    public static int pageCount(Path path) {
        String name = nameOf(path);
        try (PDDocument doc = open(path, name)) {
            return doc.getNumberOfPages();
        } catch (IOException e) { // closing
            throw new ImageDecodeException(name + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** The same for a PDF held in memory (pasted). */
    static RgbImage render(byte[] bytes, String name, int page, long maxPixels) {
        PDDocument doc;
        try {
            doc = Loader.loadPDF(bytes);
        } catch (InvalidPasswordException e) {
            throw passwordProtected(name, e);
        } catch (IOException | RuntimeException e) {
            throw unreadable(name, e);
        }
        try (doc) {
            return render(doc, name, page, maxPixels);
        } catch (IOException e) {
            throw new ImageDecodeException(name + " cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * The self-test's check that PDF pages can be read in this runtime (PDFBox, its bundled fonts, the
     * JDK's rasteriser): a generated page with a line of text, rendered; what was drawn is described.
     */
    public static String selfCheck() {
        long t0 = System.nanoTime();
        byte[] pdf = textPage(400, 200, "ConvLLaVA 1536");
        RgbImage img = render(pdf, "the self-test's PDF", 1, ImageDecoder.DEFAULT_MAX_PIXELS);
        long dark = 0;
        byte[] rgb = img.rgb();
        for (int i = 0; i < rgb.length; i += 3) {
            dark += (rgb[i] & 0xFF) < 128 ? 1 : 0;
        }
        if (img.width() != LONG_SIDE || dark < 1000) {
            throw new ImageDecodeException("the self-test's PDF rendered as " + img.width() + " x " + img.height() + " with " + dark
                    + " dark pixels: its text was not drawn");
        }
        return String.format(Locale.ROOT, "PDFBox %s, a page of text rendered at %d x %d (%d dark pixels) in %.0f ms",
                Version.getVersion(), img.width(), img.height(), dark, (System.nanoTime() - t0) / 1e6);
    }

    /** A one-page PDF of {@code width x height} points with a line of text in Helvetica (the self-test's page; test seeds). */
    public static byte[] textPage(float width, float height, String text) {
        try (PDDocument doc = new PDDocument(); ByteArrayOutputStream out = new ByteArrayOutputStream()) {
            PDPage p = new PDPage(new PDRectangle(width, height));
            doc.addPage(p);
            try (PDPageContentStream cs = new PDPageContentStream(doc, p)) {
                cs.beginText();
                cs.setFont(new PDType1Font(Standard14Fonts.FontName.HELVETICA),
                        height / 5);
                cs.newLineAtOffset(width / 13, height * 0.4f);
                cs.showText(text);
                cs.endText();
            }
            doc.save(out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new ImageDecodeException("a PDF cannot be written: " + e.getMessage(), e);
        }
    }

    private static PDDocument open(Path path, String name) {
        if (Files.isDirectory(path)) {
            throw new ImageDecodeException(name + " is a folder, not a PDF");
        }
        if (!Files.isRegularFile(path)) {
            throw new ImageDecodeException(name + " was not found (" + path + ")");
        }
        try {
            return Loader.loadPDF(path.toFile());
        } catch (InvalidPasswordException e) {
            throw passwordProtected(name, e);
        } catch (IOException | RuntimeException e) {
            throw unreadable(name, e);
        }
    }

    private static RgbImage render(PDDocument doc, String name, int page, long maxPixels) {
        int pages = doc.getNumberOfPages();
        if (pages == 0) {
            throw new ImageDecodeException(name + " has no pages");
        }
        if (page < 1 || page > pages) {
            throw new ImageDecodeException(name + " has " + pages + (pages == 1 ? " page" : " pages") + "; there is no page " + page);
        }
        String what = pages == 1 ? name : name + " (page " + page + ")";
        try {
            PDPage p = doc.getPage(page - 1);
            PDRectangle box = p.getCropBox();
            float w = box.getWidth();
            float h = box.getHeight();
            if (p.getRotation() % 180 != 0) {
                float t = w; // rotated a quarter turn: drawn the other way round
                w = h;
                h = t;
            }
            float longSide = Math.max(w, h);
            if (!(longSide > 0) || !Float.isFinite(longSide) || !(Math.min(w, h) > 0)) {
                throw new ImageDecodeException(what + " has no size (crop box " + box + ")");
            }
            float scale = LONG_SIDE / longSide; // pixels per point
            int width = Math.max(1, (int) Math.floor(w * scale)); // as PDFRenderer sizes its image
            int height = Math.max(1, (int) Math.floor(h * scale));
            if ((long) width * height > maxPixels) {
                throw new ImageDecodeException(what + " would be " + width + " x " + height + " pixels ("
                        + ImageDecoder.megapixels((long) width * height) + " megapixels); the limit is "
                        + ImageDecoder.megapixels(maxPixels) + " megapixels");
            }
            BufferedImage bi = new PDFRenderer(doc).renderImage(page - 1, scale, ImageType.RGB);
            return ImageDecoder.toRgb(bi);
        } catch (ImageDecodeException e) {
            throw e;
        } catch (OutOfMemoryError e) {
            throw new ImageDecodeException(what + " does not fit in memory when rendered", e);
        } catch (IOException | RuntimeException e) {
            throw new ImageDecodeException(what + " cannot be rendered: " + oneLine(e), e);
        }
    }

    private static ImageDecodeException passwordProtected(String name, Exception e) {
        return new ImageDecodeException(name + " is password-protected; save a copy without the password (or export the page "
                + "as PNG) and open that", e);
    }

    private static ImageDecodeException unreadable(String name, Exception e) {
        return new ImageDecodeException(name + " is not a readable PDF (" + oneLine(e) + ")", e);
    }

    private static String nameOf(Path path) {
        Path f = path.getFileName();
        return f == null ? path.toString() : f.toString();
    }

    private static String oneLine(Throwable t) {
        String s = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return s.replaceAll("\\s+", " ").trim();
    }
}
