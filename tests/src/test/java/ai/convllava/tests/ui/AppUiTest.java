package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.DesktopApp;
import ai.convllava.app.gui.image.TransferData;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;

import java.nio.file.Path;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the tests of the whole app window share: {@link UiFixture} (the toolkit, a failure on any
 * exception that reaches the FX thread, the window closed after each test), its robot, a temporary
 * folder for the app's files, and the app a test opens.
 */
@ExtendWith(UiFixture.class)
abstract class AppUiTest {
    @TempDir
    Path tmp;

    FxRobot robot;
    UiFixture ui;
    DesktopApp app;

    @BeforeEach
    void fixture(UiFixture ui) {
        this.ui = ui;
        this.robot = ui.robot();
    }

    /** Opens the app on the tiny model and drops wide.png on it; returns when the model is loaded and the canvas is ready. */
    void openTinyModelWithWideImage(AppPaths paths) throws Exception {
        UiSupport.writeSettings(paths, UiSupport.tinyModel(), 16);
        app = ui.open(paths);
        await("the tiny model to load", 60, () -> app.viewModel().model().infoProperty().get() != null);
        assertTrue(fx(() -> app.view().handleTransfer(TransferData.ofFiles(UiSupport.wide().toFile()))));
        await("the canvas", 20, () -> app.viewModel().image().preprocessedProperty().get() != null
                && !app.viewModel().image().busyProperty().get());
    }
}
