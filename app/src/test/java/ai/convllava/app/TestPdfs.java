package ai.convllava.app;

import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.PDPage;
import org.apache.pdfbox.pdmodel.PDPageContentStream;
import org.apache.pdfbox.pdmodel.common.PDRectangle;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;

/** PDFs made for the app's tests with PDFBox (the same library that renders them). */
public final class TestPdfs {
    private TestPdfs() {
    }

    /**
     * {@code report.pdf}: page 1 is A4 portrait with a black square, page 2 is 800 x 500 points
     * (landscape) with a red and a blue bar.
     */
    public static Path twoPages(Path dir) throws IOException {
        Path pdf = dir.resolve("report.pdf");
        try (PDDocument doc = new PDDocument()) {
            PDPage one = new PDPage(PDRectangle.A4);
            PDPage two = new PDPage(new PDRectangle(800, 500));
            doc.addPage(one);
            doc.addPage(two);
            try (PDPageContentStream cs = new PDPageContentStream(doc, one)) {
                cs.addRect(50, 500, 200, 200);
                cs.fill();
            }
            try (PDPageContentStream cs = new PDPageContentStream(doc, two)) {
                cs.setNonStrokingColor(Color.RED);
                cs.addRect(100, 50, 120, 400);
                cs.fill();
                cs.setNonStrokingColor(Color.BLUE);
                cs.addRect(400, 50, 120, 250);
                cs.fill();
            }
            doc.save(pdf.toFile());
        }
        return pdf;
    }
}
