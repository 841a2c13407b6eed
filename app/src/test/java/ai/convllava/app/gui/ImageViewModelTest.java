package ai.convllava.app.gui;

import ai.convllava.app.gui.image.ImageViewModel;
import ai.convllava.app.gui.image.TransferData;
import ai.convllava.model.api.image.CanvasMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageViewModelTest {
    @TempDir
    Path tmp;

    @Test
    void aDroppedFileGivesTheCanvasAndItsGrid() {
        Harness h = new Harness(tmp);
        assertTrue(h.vm.accept(TransferData.ofFiles(Harness.fixture("tiny/images/wide.png").toFile())));
        h.ui.runAll();
        ImageViewModel img = h.vm.image();
        assertEquals(300, img.originalProperty().get().width());
        assertEquals("256 x 256 canvas - 4 x 4 = 16 visual tokens - image occupies 256 x 171", img.readoutProperty().get());
        assertNotNull(img.preprocessedProperty().get());
        assertFalse(img.busyProperty().get());
    }

    @Test
    void aPdfShowsItsPagesOneAtATime() throws Exception {
        Harness h = new Harness(tmp);
        Path pdf = ai.convllava.app.TestPdfs.twoPages(tmp);
        assertTrue(h.vm.accept(TransferData.ofFiles(pdf.toFile())));
        h.ui.runAll();
        ImageViewModel img = h.vm.image();
        assertEquals(2, img.pageCountProperty().get());
        assertEquals(1, img.pageProperty().get());
        assertTrue(img.isDocumentPage());
        assertEquals(2048, img.originalProperty().get().height(), "A4 portrait, long side 2048 px");
        assertEquals("report.pdf", img.sourceNameProperty().get());
        assertNotNull(img.preprocessedProperty().get());

        img.nextPage();
        h.ui.runAll();
        assertEquals(2, img.pageProperty().get());
        assertEquals(2048, img.originalProperty().get().width(), "the landscape page");
        assertEquals(1280, img.originalProperty().get().height());
        assertEquals(2, h.service.images.size(), "each page goes to the model (pre-encoded) as an image of its own");
        img.nextPage(); // there is no page 3
        img.showPage(7);
        h.ui.runAll();
        assertEquals(2, img.pageProperty().get());
        assertEquals(2, h.service.images.size());
        img.previousPage();
        h.ui.runAll();
        assertEquals(1, img.pageProperty().get());
        assertEquals(2048, img.originalProperty().get().height());

        h.vm.setImage(ai.convllava.model.api.image.RgbImage.filled(30, 20, 200, 10, 10), "pasted image"); // no longer a document
        h.ui.runAll();
        assertEquals(0, img.pageCountProperty().get());
        assertFalse(img.isDocumentPage());
        img.nextPage();
        h.ui.runAll();
        assertEquals(30, img.originalProperty().get().width());
    }

    @Test
    void theModeSwitchUpdatesTheReadoutAtOnce() {
        Harness h = new Harness(tmp);
        h.vm.openImage(Harness.fixture("tiny/images/wide.png"));
        h.ui.runAll();
        ImageViewModel img = h.vm.image();
        img.toggleMode();
        assertEquals(CanvasMode.NATIVE, h.settings.canvasModeProperty().get());
        assertEquals("384 x 256 canvas - 6 x 4 = 24 visual tokens - image occupies 384 x 256", img.readoutProperty().get());
        h.ui.runAll();
        assertEquals(384, img.preprocessedProperty().get().canvas().width());
        img.toggleMode();
        assertTrue(img.readoutProperty().get().contains("4 x 4 = 16"));
    }

    @Test
    void anUnreadableFileIsAnInlineMessageAndTheImageStays() throws Exception {
        Harness h = new Harness(tmp);
        h.vm.openImage(Harness.fixture("tiny/images/wide.png"));
        h.ui.runAll();
        Path bad = tmp.resolve("notes.png");
        Files.writeString(bad, "not an image");
        h.vm.openImage(bad);
        h.ui.runAll();
        ImageViewModel img = h.vm.image();
        assertNotNull(img.messageProperty().get());
        assertTrue(img.messageProperty().get().contains("notes.png"), img.messageProperty().get());
        assertEquals(300, img.originalProperty().get().width(), "the previous image is kept");
        img.dismissMessage();
        assertNull(img.messageProperty().get());
    }

    @Test
    void dropsOfFolderUrlsAndNothingSaySo() {
        Harness h = new Harness(tmp);
        assertFalse(h.vm.accept(TransferData.ofFiles(tmp.toFile())));
        assertTrue(h.vm.image().messageProperty().get().contains("not a file"));
        assertFalse(h.vm.accept(new TransferData(List.of(), "https://example.com/chart.png", null)));
        assertTrue(h.vm.image().messageProperty().get().startsWith("Web images are not downloaded"));
        assertTrue(h.vm.accept(new TransferData(List.of(), Harness.fixture("tiny/images/tall.png").toUri().toString(), null)));
        h.ui.runAll();
        assertNotNull(h.vm.image().originalProperty().get());
        assertFalse(h.vm.accept(new TransferData(List.<File>of(), null, null)));
    }

    @Test
    void zoomIsClampedAndFitIsRestorable() {
        Harness h = new Harness(tmp);
        ImageViewModel img = h.vm.image();
        assertTrue(img.fitProperty().get());
        img.zoomIn();
        assertFalse(img.fitProperty().get());
        assertEquals(1.25, img.scaleProperty().get(), 1e-9);
        for (int i = 0; i < 50; i++) {
            img.zoomOut();
        }
        assertEquals(ImageViewModel.MIN_SCALE, img.scaleProperty().get(), 1e-9);
        img.zoomFit();
        assertTrue(img.fitProperty().get());
        boolean grid = h.settings.showGridProperty().get();
        img.toggleGrid();
        assertEquals(!grid, h.settings.showGridProperty().get());
    }

    @Test
    void anewImageAfterAConversationStartsANewOne() {
        Harness h = new Harness(tmp).withModel();
        h.vm.chat().inputProperty().set("q");
        h.vm.chat().send();
        h.service.lastAsk().finish("a", ai.convllava.model.api.FinishReason.EOS);
        h.ui.runAll();
        h.vm.openImage(Harness.fixture("tiny/images/tall.png"));
        h.ui.runAll();
        assertTrue(h.vm.chat().messages().isEmpty());
    }
}
