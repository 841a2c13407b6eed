package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.control.MenuItem;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Choosing model folders in the real app on the tiny model: a wrong one (a file, a folder without a
 * model, a recent model that was deleted) is refused with what is wrong while the working model stays
 * loaded, and is not what the next start loads; folders that loaded are offered under Model > Recent models.
 */
class ModelFolderUiTest extends AppUiTest {
    private String shownError() {
        return fx(() -> {
            Node box = app.scene().lookup(".inline-error");
            Label l = (Label) box.lookup(".label");
            return box.isVisible() ? l.getText() : null;
        });
    }

    private void awaitTinyModel() {
        await("the tiny model to load", 60, () -> app.viewModel().model().infoProperty().get() != null
                && !app.viewModel().model().loadingProperty().get());
    }

    @Test
    void aWrongFolderIsRefusedAndTheWorkingModelStaysAndIsLoadedAtTheNextStart() throws Exception {
        AppPaths paths = AppPaths.under(tmp.resolve("data"));
        Path tiny = UiSupport.tinyModel().toAbsolutePath();
        UiSupport.writeSettings(paths, tiny, 16);
        app = ui.open(paths);
        awaitTinyModel();
        String inUse = fx(() -> app.viewModel().model().infoTextProperty().get());
        String name = fx(() -> app.viewModel().model().infoProperty().get().name());

        Path file = Files.writeString(tmp.resolve("config.json"), "{}");
        run(() -> app.viewModel().model().chooseModelFolder(file));
        await("the refusal", 20, () -> shownError() != null);
        assertTrue(shownError().contains(file + " is a file, not a folder"), shownError());
        assertTrue(shownError().contains("still using " + name), shownError());
        assertEquals(inUse, fx(() -> app.viewModel().model().infoTextProperty().get()), "the working model stays loaded");
        assertTrue(fx(() -> app.viewModel().model().isReady()));

        Path empty = Files.createDirectories(tmp.resolve("Downloads"));
        run(() -> app.viewModel().model().chooseModelFolder(empty));
        await("the second refusal", 20, () -> shownError() != null && shownError().contains("Downloads"));
        assertTrue(shownError().contains(empty + " has no config.json"), shownError());
        assertEquals(tiny.toString(), fx(() -> app.settings().modelDirProperty().get()));

        ui.close(app);
        app = ui.open(paths);
        awaitTinyModel();
        assertEquals(tiny, fx(() -> app.viewModel().model().infoProperty().get().folder()).toAbsolutePath(),
                "the next start loads the working model, not a refused folder");
    }

    @Test
    void recentModelsAreOfferedAndADeletedOneIsRefusedWithoutUnloading() throws Exception {
        AppPaths paths = AppPaths.under(tmp.resolve("data"));
        Path tiny = UiSupport.tinyModel().toAbsolutePath();
        UiSupport.writeSettings(paths, tiny, 16);
        app = ui.open(paths);
        awaitTinyModel();
        await("the loaded model among the recent models", 10, () -> !app.view().recentModelsMenu().getItems().isEmpty());
        assertTrue(fx(() -> app.view().recentModelsMenu().getItems().get(0).getText()).contains(tiny.toString()));

        Path gone = tmp.resolve("models/ConvLLaVA-sft-768");
        run(() -> app.settings().recentModelsProperty().add(gone.toString()));
        List<MenuItem> items = fx(() -> List.copyOf(app.view().recentModelsMenu().getItems()));
        assertEquals(2, items.size());
        MenuItem deleted = items.get(1);
        assertTrue(fx(deleted::getText).contains(gone.toString()));
        run(deleted::fire);
        await("the refusal", 20, () -> shownError() != null);
        assertTrue(shownError().contains("the model folder " + gone + " does not exist"), shownError());
        assertNotNull(fx(() -> app.viewModel().model().infoProperty().get()), "the working model stays loaded");
        assertEquals(tiny.toString(), fx(() -> app.settings().modelDirProperty().get()));
    }
}
