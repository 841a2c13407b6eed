package ai.convllava.tests.ui;

import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.settings.SettingsView;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.image.CanvasMode;
import javafx.scene.Scene;
import javafx.stage.Stage;
import org.controlsfx.control.PropertySheet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ControlsFX PropertySheet runs from the class path (no add-opens) and edits the settings. */
@ExtendWith(UiFixture.class)
class SettingsSheetUiTest {
    @Test
    void thePropertySheetShowsAndEditsTheSettings() throws Exception {
        AppSettings settings = new AppSettings();
        SettingsView view = fx(() -> new SettingsView(settings, null));
        Stage stage = fx(() -> {
            Stage s = new Stage();
            s.setScene(new Scene(view.sheet(), 600, 500));
            s.show();
            return s;
        });
        try {
            PropertySheet sheet = view.sheet();
            assertEquals(13, fx(() -> sheet.getItems().size()));
            assertTrue(fx(() -> sheet.lookupAll(".text-field").size()) >= 6, "editors were created");
            PropertySheet.Item temperature = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Temperature")).findFirst().orElseThrow());
            run(() -> temperature.setValue(0.8));
            assertEquals(0.8, settings.temperatureProperty().get());
            PropertySheet.Item mode = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Canvas mode")).findFirst().orElseThrow());
            run(() -> mode.setValue(CanvasMode.NATIVE));
            assertEquals(CanvasMode.NATIVE, settings.canvasModeProperty().get());
            PropertySheet.Item typing = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Read the question while I type"))
                    .findFirst().orElseThrow());
            assertEquals(true, typing.getValue(), "on by default");
            run(() -> typing.setValue(false));
            assertFalse(settings.readWhileTypingProperty().get());
            PropertySheet.Item tower = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Vision tower memory"))
                    .findFirst().orElseThrow());
            assertEquals(TowerMemory.AUTO, tower.getValue(), "AUTO by default");
            run(() -> tower.setValue(TowerMemory.STREAMED));
            assertEquals(TowerMemory.STREAMED, settings.towerMemoryProperty().get());
            PropertySheet.Item threads = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Threads")).findFirst().orElseThrow());
            assertFalse(threads.isEditable());
        } finally {
            run(stage::close);
        }
    }
}
