package ai.convllava.tests.ui;

import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.settings.SettingsView;
import ai.convllava.app.gui.settings.WeightChoice;
import ai.convllava.model.api.MemoryPlan;
import ai.convllava.model.api.QuantizedWeightFiles;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.image.CanvasMode;
import javafx.scene.Scene;
import javafx.scene.control.ButtonType;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Dialog;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.scene.input.KeyCode;
import javafx.stage.Stage;
import org.controlsfx.control.PropertySheet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ControlsFX PropertySheet runs from the class path (no add-opens) and edits the settings; the Weights help has this computer's numbers. */
@ExtendWith(UiFixture.class)
class SettingsSheetUiTest {
    @Test
    void thePropertySheetShowsAndEditsTheSettings() throws Exception {
        AppSettings settings = new AppSettings();
        MemoryPlan plan = new MemoryPlan(12_300_000_000L, 14_000_000_000L, List.of(
                new MemoryPlan.Option(WeightFormat.F16, 15_900_000_000L, TowerMemory.STREAMED, false, "does not fit", QuantizedWeightFiles.Availability.NONE),
                new MemoryPlan.Option(WeightFormat.Q8_0, 9_400_000_000L, TowerMemory.RESIDENT, true, null, QuantizedWeightFiles.Availability.READY),
                new MemoryPlan.Option(WeightFormat.Q4_K, 6_000_000_000L, TowerMemory.RESIDENT, true, null, QuantizedWeightFiles.Availability.NONE)),
                WeightFormat.Q8_0);
        SettingsView view = fx(() -> new SettingsView(settings, null, plan));
        Stage stage = fx(() -> {
            Stage s = new Stage();
            s.setScene(new Scene(view.sheet(), 600, 500));
            s.show();
            return s;
        });
        try {
            PropertySheet sheet = view.sheet();
            assertEquals(15, fx(() -> sheet.getItems().size()));
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
            PropertySheet.Item weights = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Weights")).findFirst().orElseThrow());
            assertEquals(WeightChoice.AUTO, weights.getValue(), "Auto by default");
            assertTrue(weights.getDescription().contains("f16 15.9 GB, 8-bit 9.4 GB, 4-bit 6.0 GB")
                    && weights.getDescription().contains("12.3 GB is available now") && weights.getDescription().contains("Auto picks 8-bit"),
                    weights.getDescription());
            run(() -> weights.setValue(WeightChoice.Q4_K));
            assertEquals(WeightFormat.Q4_K, settings.weightsProperty().get().format());
            PropertySheet.Item threads = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Threads")).findFirst().orElseThrow());
            assertFalse(threads.isEditable());
            PropertySheet.Item heatmaps = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Heatmaps kept (MB)"))
                    .findFirst().orElseThrow());
            assertEquals(256, heatmaps.getValue(), "256 MB by default");
            assertTrue(heatmaps.getDescription().contains("the oldest are deleted first"), heatmaps.getDescription());
            run(() -> heatmaps.setValue(64));
            assertEquals(64_000_000L, settings.heatmapStoreBytes());
            run(() -> view.withHeatmapUsage(new javafx.beans.property.SimpleStringProperty("1.5 MB used of 64 MB")));
            PropertySheet.Item usage = fx(() -> sheet.getItems().stream().filter(i -> i.getName().equals("Heatmaps on disk")).findFirst().orElseThrow());
            assertEquals("1.5 MB used of 64 MB", usage.getValue());
            assertFalse(usage.isEditable());
        } finally {
            run(stage::close);
        }
    }

    @Test
    void numbersAreCheckedAsTypedEnumsHaveNamesAndTheDialogResizesAndClosesWithEsc(UiFixture ui) {
        AppSettings settings = new AppSettings();
        SettingsView view = fx(() -> new SettingsView(settings, null, null));
        Dialog<ButtonType> dialog = fx(() -> {
            Dialog<ButtonType> d = view.dialog(null);
            d.show();
            return d;
        });
        Stage window = ui.track(fx(() -> (Stage) dialog.getDialogPane().getScene().getWindow()));
        assertTrue(fx(dialog::isResizable), "the dialog can be resized");
        assertTrue(fx(window::isResizable));
        double sheetWants = fx(() -> view.sheet().prefHeight(-1));
        assertTrue(fx(() -> view.sheet().getHeight()) >= sheetWants - 0.5 && fx(() -> view.sheet().getWidth()) >= 560,
                "the dialog fits the sheet: " + fx(() -> view.sheet().getWidth() + "x" + view.sheet().getHeight()) + " for " + sheetWants);

        TextField temperature = fx(() -> view.sheet().lookupAll(".setting-field").stream().map(n -> (TextField) n)
                .filter(f -> "Temperature".equals(f.getAccessibleText())).findFirst().orElseThrow());
        Label problem = fx(() -> (Label) temperature.getParent().lookup(".field-problem"));
        assertFalse(fx(problem::isVisible), "no problem with the default");
        run(() -> {
            temperature.requestFocus();
            temperature.selectAll();
        });
        ui.robot().write("abc");
        assertEquals("a number is needed (got \"abc\")", fx(problem::getText));
        assertTrue(fx(problem::isVisible), "the reason is shown beside the field as it is typed");
        assertEquals(0.0, settings.temperatureProperty().get(), "the setting keeps its last good value");
        run(temperature::selectAll);
        ui.robot().write("150");
        assertEquals("temperature must be in [0, 100] (got 150.0)", fx(problem::getText));
        assertTrue(fx(() -> temperature.getPseudoClassStates().contains(javafx.css.PseudoClass.getPseudoClass("invalid"))));
        run(temperature::selectAll);
        ui.robot().write("0.7");
        assertFalse(fx(problem::isVisible));
        assertEquals(0.7, settings.temperatureProperty().get());
        assertEquals("0.7", fx(temperature::getText), "what was typed stays as typed");

        // every enum shows readable names, not its constants
        List<String> constants = List.of("PAD", "NATIVE", "AUTO", "GPU", "RESIDENT", "STREAMED", "LIGHT", "DARK", "F16", "Q8_0", "Q4_K"); // "CPU" is its name
        List<ComboBox<?>> combos = fx(() -> view.sheet().lookupAll(".combo-box").stream().map(n -> (ComboBox<?>) n)
                .collect(java.util.stream.Collectors.toList()));
        assertEquals(5, combos.size(), "canvas mode, device, tower memory, weights, theme");
        for (ComboBox<?> c : combos) {
            List<String> names = fx(() -> {
                @SuppressWarnings("unchecked")
                ComboBox<Object> o = (ComboBox<Object>) c;
                return o.getItems().stream().map(v -> o.getConverter().toString(v)).toList();
            });
            assertTrue(names.stream().noneMatch(constants::contains), c.getAccessibleText() + ": " + names);
        }
        assertEquals("Pad to square", SettingsView.label(CanvasMode.PAD));

        // Esc closes it, even from a field
        run(temperature::requestFocus);
        ui.robot().type(KeyCode.ESCAPE);
        await("Esc to close the settings", 10, () -> !window.isShowing());
    }
}
