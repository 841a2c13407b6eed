package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.heatmap.HeatmapPng;
import ai.convllava.app.gui.heatmap.HeatmapViewModel;
import ai.convllava.model.api.image.CanvasGeometry;
import javafx.geometry.Point2D;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.input.KeyCode;
import javafx.scene.text.Text;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The heatmap on the tiny model, headless: an answer, its Heatmap link opens the panel, clicking a word
 * shows its map over the 4 x 4 grid, arrow keys step, a grid cell click ranks the words, and the PNG
 * export has the expected size. With {@code -Dconvllava.screenshots=DIR} it also writes
 * {@code heatmap.png} (the app) and {@code heatmap-export.png} (the exported overlay) there.
 */
class HeatmapUiTest extends AppUiTest {
    @Test
    void clickAWordSeeItsMapAndExportIt() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        openTinyModelWithWideImage(paths);
        HeatmapViewModel hm = app.viewModel().heatmap();
        assertFalse(fx(() -> app.view().heatmapView().root().isVisible()), "the panel starts closed");

        robot.clickOn(".question").write(UiSupport.QUESTION).type(KeyCode.ENTER);
        await("the answer", 60, () -> app.viewModel().chat().messages().size() == 2 && !app.viewModel().chat().answeringProperty().get());
        assertEquals(UiSupport.CLI_ANSWER, fx(() -> app.viewModel().chat().messages().get(1).text()), "recording changes nothing in the answer");
        assertNotNull(fx(() -> hm.sourceProperty().get()), "the answer has maps");
        assertFalse(fx(() -> app.view().preview().heatLayer().isVisible()), "no overlay while the panel is closed");

        // the answer's Heatmap link opens the panel on it
        await("the Heatmap link", 10, () -> robot.lookup(".heatmap-link").queryAll().stream().anyMatch(Node::isVisible));

        // the answer's own words in its bubble: they spell the answer, and a click opens the panel on that word
        List<Text> words = fx(() -> List.copyOf(robot.lookup(".answer-word").queryAllAs(Text.class)));
        assertTrue(words.size() >= 3, "the answer's words: " + words.size());
        assertEquals(UiSupport.CLI_ANSWER.strip(), fx(() -> words.stream().map(Text::getText).collect(Collectors.joining()).strip()));
        robot.clickOn(words.get(2));
        await("the panel on the clicked word", 10, () -> app.view().heatmapView().root().isVisible() && hm.selectedProperty().get() >= 0);
        assertEquals(words.get(2).getText(), fx(() -> hm.sourceProperty().get().maps().pieces().get(hm.selectedProperty().get()).text()));

        robot.clickOn(".heatmap-link"); // the whole answer
        assertEquals(-1, (int) fx(() -> hm.selectedProperty().get()));
        await("the panel", 10, () -> app.view().heatmapView().root().isVisible() && hm.overlayVisibleProperty().get());
        List<Label> chips = fx(() -> app.view().heatmapView().chips());
        int pieces = fx(() -> hm.sourceProperty().get().maps().pieces().size());
        assertEquals(pieces, chips.size());
        assertEquals(UiSupport.CLI_ANSWER, fx(() -> hm.sourceProperty().get().maps().text()), "the words spell the answer");

        // click a word: its map is over the grid
        robot.clickOn(chips.get(1));
        assertEquals(1, (int) fx(() -> hm.selectedProperty().get()));
        CanvasGeometry g = fx(() -> app.viewModel().image().preprocessedProperty().get().geometry());
        assertTrue(fx(() -> app.view().preview().heatLayer().isVisible()));
        assertEquals(g.tokenCount(), (int) fx(() -> app.view().preview().heatLayer().getChildren().size()), "one cell per token");
        double scale = fx(() -> app.viewModel().image().scaleProperty().get());
        // cell (r, c) covers canvas pixels [c * cellSize, (c + 1) * cellSize) x [r * cellSize, (r + 1) * cellSize), times the zoom
        for (int i : new int[] {0, 5, g.tokenCount() - 1}) {
            javafx.scene.shape.Rectangle r = fx(() -> (javafx.scene.shape.Rectangle) app.view().preview().heatLayer().getChildren().get(i));
            assertEquals(i % g.gridCols() * g.cellSize() * scale, r.getX(), 1e-9);
            assertEquals(i / g.gridCols() * g.cellSize() * scale, r.getY(), 1e-9);
            assertEquals(g.cellSize() * scale, r.getWidth(), 1e-9);
        }
        assertTrue(fx(() -> hm.captionProperty().get()).contains("(2 of " + pieces + ")"), fx(() -> hm.captionProperty().get()));
        float[] map1 = fx(() -> hm.mapProperty().get());
        assertEquals(g.tokenCount(), map1.length);
        assertEquals(1f, max(map1), 1e-6f, "scaled per token");

        // keyboard: Right steps to the next word, Home back to the whole answer
        robot.type(KeyCode.RIGHT);
        assertEquals(2, (int) fx(() -> hm.selectedProperty().get()));
        robot.type(KeyCode.HOME);
        assertEquals(-1, (int) fx(() -> hm.selectedProperty().get()));
        robot.clickOn(chips.get(1));

        // click grid cell (2, 1) on the preview: the words that looked at it most are outlined
        int token = 2 * g.gridCols() + 1;
        Point2D cellCentre = fx(() -> app.view().preview().heatLayer().localToScreen((1 + 0.5) * g.cellSize() * scale,
                (2 + 0.5) * g.cellSize() * scale));
        robot.clickOn(cellCentre);
        await("the cell to be selected", 5, () -> hm.selectedCellProperty().get() == token);
        assertFalse(fx(() -> hm.cellPiecesProperty().get()).isEmpty());
        assertTrue(fx(() -> app.view().heatmapView().chips().get(hm.cellPiecesProperty().get().get(0)).getStyleClass()
                .contains("attends-cell-top")));
        assertNotNull(fx(() -> app.view().preview().overlay().lookup(".heatmap-cell")), "the cell is outlined");

        robot.clickOn(chips.get(3));
        assertEquals(3, (int) fx(() -> hm.hoveredProperty().get()), "the pointer rests on the word");
        assertEquals(3, (int) fx(() -> hm.selectedProperty().get()));
        assertEquals(token, (int) fx(() -> hm.selectedCellProperty().get()), "the cell stays selected while words change");

        // export the overlay as PNG: canvas 256 -> 512 wide, plus the legend band
        Path png = tmp.resolve("heatmap.png");
        fx(() -> hm.exportPng(png)).get(20, TimeUnit.SECONDS);
        assertTrue(Files.size(png) > 0);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(512, img.getWidth());
        assertEquals(512 + HeatmapPng.BAND, img.getHeight());

        await("the export notice", 5, () -> hm.noticeProperty().get() != null);
        assertEquals(3, (int) fx(() -> hm.hoveredProperty().get()), "the notice did not move the words under the pointer");

        String dir = System.getProperty("convllava.screenshots");
        if (dir != null && !dir.isBlank()) {
            Path out = Path.of(dir);
            Files.createDirectories(out);
            Files.copy(png, out.resolve("heatmap-export.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            UiSupport.snapshot(app, out.resolve("heatmap.png"));
        }

        // closing the panel hides the overlay
        robot.push(KeyCode.CONTROL, KeyCode.H);
        await("the overlay to hide", 5, () -> !app.view().preview().heatLayer().isVisible());
    }

    private static float max(float[] v) {
        float m = 0;
        for (float x : v) {
            m = Math.max(m, x);
        }
        return m;
    }
}
