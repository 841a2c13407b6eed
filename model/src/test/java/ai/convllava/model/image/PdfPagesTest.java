package ai.convllava.model.image;

import ai.convllava.model.api.image.DecodedImage;
import ai.convllava.model.api.image.ImageDecodeException;
import ai.convllava.model.api.image.RgbImage;

import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;
import org.apache.pdfbox.pdmodel.encryption.AccessPermission;
import org.apache.pdfbox.pdmodel.encryption.StandardProtectionPolicy;
import org.apache.pdfbox.pdmodel.font.PDType1Font;
import org.apache.pdfbox.pdmodel.font.Standard14Fonts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PDF pages as images: sizes, content, page choice, and every bad input as our exception. */
class PdfPagesTest {
    /**
     * Two pages made with PDFBox: A4 portrait with a black square at its top left and a line of text,
     * then US Letter landscape with a red square at its bottom right.
     */
    static Path twoPages(Path dir) throws IOException {
        Path pdf = dir.resolve("report.pdf");
        try (PDDocument doc = new PDDocument()) {
            PDPage a4 = new PDPage(PDRectangle.A4);
            doc.addPage(a4);
            try (PDPageContentStream cs = new PDPageContentStream(doc, a4)) {
                cs.setNonStrokingColor(Color.BLACK);
                cs.addRect(0, PDRectangle.A4.getHeight() - 100, 100, 100); // PDF y grows upwards
                cs.fill();
                cs.beginText();
                cs.setFont(new PDType1Font(Standard14Fonts.FontName.HELVETICA), 24);
                cs.newLineAtOffset(150, 600);
                cs.showText("Total: 42.00");
                cs.endText();
            }
            PDPage letter = new PDPage(new PDRectangle(PDRectangle.LETTER.getHeight(), PDRectangle.LETTER.getWidth()));
            doc.addPage(letter);
            try (PDPageContentStream cs = new PDPageContentStream(doc, letter)) {
                cs.setNonStrokingColor(Color.RED);
                cs.addRect(PDRectangle.LETTER.getHeight() - 100, 0, 100, 100);
                cs.fill();
            }
            doc.save(pdf.toFile());
        }
        return pdf;
    }

    static int[] rgb(RgbImage img, int x, int y) {
        int i = (y * img.width() + x) * 3;
        byte[] p = img.rgb();
        return new int[] {p[i] & 0xFF, p[i + 1] & 0xFF, p[i + 2] & 0xFF};
    }

    @Test
    void eachPageIsRenderedWithItsLongSideAt2048Pixels(@TempDir Path dir) throws IOException {
        Path pdf = twoPages(dir);
        assertTrue(PdfPages.isPdf(pdf));
        DecodedImage first = PdfPages.page(pdf, 1, ImageDecoder.DEFAULT_MAX_PIXELS);
        assertEquals(2, first.pageCount());
        RgbImage one = first.image();
        assertEquals(2048, one.height());
        assertEquals((int) Math.floor(PDRectangle.A4.getWidth() * 2048 / PDRectangle.A4.getHeight()), one.width());
        int square = Math.round(100 * 2048 / PDRectangle.A4.getHeight()); // 243 px
        assertArrayEquals(new int[] {0, 0, 0}, rgb(one, square / 2, square / 2), "the black square, top left");
        assertArrayEquals(new int[] {255, 255, 255}, rgb(one, one.width() - 5, one.height() - 5), "white paper");
        int dark = 0;
        int textTop = Math.round((PDRectangle.A4.getHeight() - 620) * 2048 / PDRectangle.A4.getHeight());
        for (int y = textTop; y < textTop + 60; y++) {
            for (int x = 360; x < 800; x++) {
                dark += rgb(one, x, y)[0] < 128 ? 1 : 0;
            }
        }
        assertTrue(dark > 500, "the line of text is drawn: " + dark + " dark pixels");

        RgbImage two = PdfPages.page(pdf, 2, ImageDecoder.DEFAULT_MAX_PIXELS).image();
        assertEquals(2048, two.width());
        assertEquals((int) Math.floor(PDRectangle.LETTER.getWidth() * 2048 / PDRectangle.LETTER.getHeight()), two.height());
        assertArrayEquals(new int[] {255, 0, 0}, rgb(two, two.width() - 20, two.height() - 20), "the red square, bottom right");
        assertArrayEquals(new int[] {255, 255, 255}, rgb(two, 20, 20));
    }

    @Test
    void imageDecoderOpensAPdfOnItsFirstPage(@TempDir Path dir) throws IOException {
        Path pdf = twoPages(dir);
        RgbImage first = PdfPages.page(pdf, 1, ImageDecoder.DEFAULT_MAX_PIXELS).image();
        RgbImage viaFile = ImageDecoder.decode(pdf);
        assertEquals(first.width(), viaFile.width());
        assertArrayEquals(first.rgb(), viaFile.rgb());
        RgbImage viaBytes = ImageDecoder.decode(Files.readAllBytes(pdf), "pasted.pdf"); // pasted as data
        assertArrayEquals(first.rgb(), viaBytes.rgb());
    }

    @Test
    void aQuarterTurnedPageIsRenderedTheWayItIsShown(@TempDir Path dir) throws IOException {
        Path pdf = dir.resolve("turned.pdf");
        try (PDDocument doc = new PDDocument()) {
            PDPage p = new PDPage(PDRectangle.A4);
            p.setRotation(90);
            doc.addPage(p);
            doc.save(pdf.toFile());
        }
        RgbImage img = PdfPages.page(pdf, 1, ImageDecoder.DEFAULT_MAX_PIXELS).image();
        assertEquals(2048, img.width());
        assertTrue(img.height() < img.width(), img.width() + " x " + img.height());
    }

    @Test
    void badPagesAndBadFilesAreOurErrors(@TempDir Path dir) throws IOException {
        Path pdf = twoPages(dir);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> PdfPages.page(pdf, 3, ImageDecoder.DEFAULT_MAX_PIXELS));
        assertEquals("report.pdf has 2 pages; there is no page 3", e.getMessage());
        e = assertThrows(ImageDecodeException.class, () -> PdfPages.page(pdf, 0, ImageDecoder.DEFAULT_MAX_PIXELS));
        assertEquals("report.pdf has 2 pages; there is no page 0", e.getMessage());
        e = assertThrows(ImageDecodeException.class, () -> PdfPages.page(pdf, 1, 1_000_000));
        assertEquals("report.pdf (page 1) would be 1448 x 2048 pixels (3.0 megapixels); the limit is 1 megapixels", e.getMessage());

        Path locked = dir.resolve("locked.pdf");
        try (PDDocument doc = new PDDocument()) {
            doc.addPage(new PDPage());
            StandardProtectionPolicy policy = new StandardProtectionPolicy("owner", "secret", new AccessPermission());
            policy.setEncryptionKeyLength(128);
            doc.protect(policy);
            doc.save(locked.toFile());
        }
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(locked));
        assertTrue(e.getMessage().startsWith("locked.pdf is password-protected; save a copy without the password"), e.getMessage());

        Path junk = dir.resolve("junk.pdf");
        Files.write(junk, "%PDF-1.7\nthis is not a PDF body at all\n".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(junk));
        assertTrue(e.getMessage().startsWith("junk.pdf is not a readable PDF ("), e.getMessage());

        Path flat = dir.resolve("flat.pdf");
        try (PDDocument doc = new PDDocument()) {
            doc.addPage(new PDPage(new PDRectangle(0, 0, 300, 0)));
            doc.save(flat.toFile());
        }
        e = assertThrows(ImageDecodeException.class, () -> PdfPages.page(flat, 1, ImageDecoder.DEFAULT_MAX_PIXELS));
        assertTrue(e.getMessage().startsWith("flat.pdf has no size"), e.getMessage());

        e = assertThrows(ImageDecodeException.class, () -> PdfPages.page(dir.resolve("missing.pdf"), 1, ImageDecoder.DEFAULT_MAX_PIXELS));
        assertTrue(e.getMessage().startsWith("missing.pdf was not found"), e.getMessage());
        e = assertThrows(ImageDecodeException.class, () -> PdfPages.page(dir, 1, ImageDecoder.DEFAULT_MAX_PIXELS));
        assertTrue(e.getMessage().endsWith("is a folder, not a PDF"), e.getMessage());
    }

    @Test
    void everyTruncationIsOurErrorOrAPage(@TempDir Path dir) throws IOException {
        byte[] whole = Files.readAllBytes(twoPages(dir));
        for (int cut = 5; cut < whole.length; cut += Math.max(1, whole.length / 40)) {
            byte[] part = Arrays.copyOf(whole, cut);
            try {
                RgbImage img = ImageDecoder.decode(part, "cut.pdf");
                assertTrue(img.width() > 0 && img.height() > 0); // PDFBox repairs what it can
            } catch (ImageDecodeException expected) {
                assertTrue(expected.getMessage().startsWith("cut.pdf "), expected.getMessage());
            }
        }
    }
}
