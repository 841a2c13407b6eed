package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.image.TransferData;
import ai.convllava.app.gui.settings.Theme;
import javafx.scene.input.KeyCode;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Writes docs/screenshots/main-light.png and main-dark.png: the app with the tiny model, wide.png with
 * its token grid, and an answer. Runs only with {@code -Dconvllava.screenshots=DIR} (tests/screenshots.sh).
 */
class ScreenshotsTest extends AppUiTest {
    @Test
    void screenshots() throws Exception {
        String dir = System.getProperty("convllava.screenshots");
        assumeTrue(dir != null && !dir.isBlank(), "set -Dconvllava.screenshots=DIR to write the screenshots");
        Path out = Path.of(dir);
        Files.createDirectories(out);
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, UiSupport.tinyModel(), 16);
        app = ui.open(paths);
        await("the tiny model", 60, () -> app.viewModel().model().infoProperty().get() != null);
        fx(() -> app.view().handleTransfer(TransferData.ofFiles(UiSupport.wide().toFile())));
        await("the canvas", 20, () -> app.viewModel().image().preprocessedProperty().get() != null
                && !app.viewModel().image().busyProperty().get());
        robot.clickOn(".question").write(UiSupport.QUESTION).type(KeyCode.ENTER);
        await("the answer", 60, () -> app.viewModel().chat().messages().size() == 2 && !app.viewModel().chat().answeringProperty().get());
        robot.clickOn(".question").write("Which colour is the bar on the left?");
        UiSupport.snapshot(app, out.resolve("main-light.png"));
        run(() -> app.settings().themeProperty().set(Theme.DARK));
        UiSupport.snapshot(app, out.resolve("main-dark.png"));
    }
}
