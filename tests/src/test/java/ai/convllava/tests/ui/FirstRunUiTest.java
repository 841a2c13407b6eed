package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.model.FirstRunViewModel;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import org.junit.jupiter.api.Test;

import java.util.List;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The first start (no model): one sentence saying what to do, the download's size and memory, an
 * estimate for this computer, and buttons; "Use the demo model" only when the installation bundles one.
 */
class FirstRunUiTest extends AppUiTest {
    private boolean shown(String id) {
        return fx(() -> {
            Node n = app.scene().lookup(id);
            for (Node p = n; p != null; p = p.getParent()) {
                if (!p.isVisible()) {
                    return false;
                }
            }
            return n != null;
        });
    }

    private String text(String id) {
        return fx(() -> ((Label) app.scene().lookup(id)).getText());
    }

    @Test
    void withoutAModelTheWindowSaysWhatToDoWithTheDownloadAndAnEstimateForThisComputer() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, null, 16);
        app = ui.open(paths);
        await("the first-run help", 20, () -> shown("#firstRunBox"));
        assertEquals("No model yet: to ask about images, download ConvLLaVA-768 (16.3 GB) or choose a model folder you already have.",
                text("#firstRunText"));
        assertTrue(shown("#firstRunDownloadButton") && shown("#firstRunChooseButton"));
        assertEquals("Download ConvLLaVA-768\u2026", fx(() -> ((Button) app.scene().lookup("#firstRunDownloadButton")).getText()));
        assertFalse(shown("#useDemoButton"), "no demo model is bundled here: no button for one");
        await("this computer's estimate", 60, () -> text("#firstRunEstimate").contains("On this computer ConvLLaVA-768 should take: first answer"));
        assertTrue(text("#firstRunEstimate").startsWith("RAM it needs: f"), text("#firstRunEstimate"));
    }

    @Test
    void theModelBarNamesTheDeviceInWordsNotAsAnEnumConstant() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, null, 16);
        app = ui.open(paths);
        ChoiceBox<?> device = (ChoiceBox<?>) app.scene().lookup("#deviceChoice");
        assertEquals("Auto", fx(() -> shownChoice(device)));
        assertEquals(List.of("Auto", "CPU", "GPU (CUDA)"), fx(() -> device.getItems().stream().map(d -> shownText(device, d)).toList()));
    }

    private static String shownChoice(ChoiceBox<?> box) {
        return shownText(box, box.getValue());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static String shownText(ChoiceBox box, Object value) {
        return box.getConverter() == null ? String.valueOf(value) : box.getConverter().toString(value);
    }

    @Test
    void aBundledDemoModelIsOfferedAndLoadsWithOneClick() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, null, 16);
        System.setProperty(FirstRunViewModel.DEMO_PROPERTY, UiSupport.tinyModel().toAbsolutePath().toString());
        try {
            app = ui.open(paths);
            await("the demo model offered", 20, () -> shown("#useDemoButton"));
            assertTrue(text("#firstRunText").contains("try the small demo model that came with the app"), text("#firstRunText"));
            robot.clickOn("#useDemoButton");
            await("the demo model to load", 60, () -> app.viewModel().model().infoProperty().get() != null);
            assertFalse(shown("#firstRunBox"), "the help goes once there is a model");
            assertEquals(UiSupport.tinyModel().toAbsolutePath().toString(), fx(() -> app.settings().modelDirProperty().get()));
        } finally {
            System.clearProperty(FirstRunViewModel.DEMO_PROPERTY);
        }
    }
}
