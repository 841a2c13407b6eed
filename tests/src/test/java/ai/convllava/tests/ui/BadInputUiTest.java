package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.settings.SettingsView;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.input.KeyCode;
import org.controlsfx.control.PropertySheet;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Absurd values in the settings sheet and the folder choices, in the real app on the tiny model: each
 * gives a message naming the field or file and the value, the question typed and the model in use are
 * kept, and no exception reaches the FX thread (UiFixture fails the test on any).
 */
class BadInputUiTest extends AppUiTest {
    private PropertySheet.Item item(PropertySheet sheet, String name) {
        return fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals(name)).findFirst().orElseThrow());
    }

    private String chatError() {
        return fx(() -> {
            Label l = (Label) app.scene().lookup("#errorLabel");
            for (Node p = l; p != null; p = p.getParent()) {
                if (!p.isVisible()) {
                    return null;
                }
            }
            return l.getText();
        });
    }

    private String modelError() {
        return fx(() -> app.scene().lookup(".inline-error").isVisible() ? app.viewModel().model().errorProperty().get() : null);
    }

    @Test
    void absurdSettingsAndFoldersGiveAMessageAndLoseNothing() throws Exception {
        AppPaths paths = AppPaths.under(tmp.resolve("data"));
        openTinyModelWithWideImage(paths);

        // the settings sheet's own items, as its editors set them (not shown: the question box keeps the keyboard)
        PropertySheet sheet = fx(() -> new SettingsView(app.settings(), app.viewModel().model().infoProperty().get(), null).sheet());

        // negative tokens: a message naming the field and the value; the question stays to be sent again
        run(() -> item(sheet, "Max new tokens").setValue(-5));
        robot.clickOn(".question").write(UiSupport.QUESTION).type(KeyCode.ENTER);
        await("the message", 10, () -> chatError() != null);
        assertEquals("Settings: max new tokens must be in [1, 32768] (got -5)", chatError());
        assertEquals(UiSupport.QUESTION, fx(() -> app.view().chatView().questionArea().getText()), "the question is kept");
        assertTrue(fx(() -> app.viewModel().chat().messages().isEmpty()));

        // a billion tokens: the same, with that number
        run(() -> item(sheet, "Max new tokens").setValue(1_000_000_000));
        robot.clickOn(".question").type(KeyCode.ENTER);
        await("the message for a billion", 10, () -> chatError() != null && chatError().contains("1000000000"));
        assertEquals("Settings: max new tokens must be in [1, 32768] (got 1000000000)", chatError());

        // an empty system prompt is ConvLLaVA's own, and a negative heatmap cap is no cap of 0: the answer and its map are kept
        run(() -> item(sheet, "Max new tokens").setValue(16));
        run(() -> item(sheet, "System prompt").setValue(""));
        run(() -> item(sheet, "Heatmaps kept (MB)").setValue(-1));
        robot.clickOn(".question").type(KeyCode.ENTER);
        await("the answer", 60, () -> app.viewModel().chat().messages().size() == 2 && !app.viewModel().chat().answeringProperty().get());
        assertEquals(UiSupport.CLI_ANSWER, fx(() -> app.viewModel().chat().messages().get(1).text()), "the default system prompt was used");
        assertEquals(null, chatError());
        String id = fx(() -> app.viewModel().chat().conversationIdProperty().get());
        await("its heatmap saved", 20, () -> Files.isRegularFile(paths.dataDir().resolve("heatmaps").resolve(id + "-1.heatmap")));

        // a file chosen as the vision tower: refused with what is wrong, the model in use stays
        Path file = Files.writeString(tmp.resolve("tower.json"), "{}");
        run(() -> app.viewModel().model().chooseVisionTower(file));
        await("the refusal", 20, () -> modelError() != null);
        assertTrue(modelError().contains(file + " is a file, not a folder"), modelError());
        assertNotNull(fx(() -> app.viewModel().model().infoProperty().get()), "the working model stays loaded");
        assertEquals("", fx(() -> app.settings().visionTowerDirProperty().get()), "the refused tower is not remembered");
    }
}
