package ai.convllava.tests.ui;

import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.settings.EngineViewModel;
import ai.convllava.app.gui.settings.SettingsView;
import ai.convllava.model.api.Device;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.stage.Stage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings > Engine on screen: the reasons as wrapped text, the folder checked as typed, Download and Cancel. */
@ExtendWith(UiFixture.class)
class EngineSettingsUiTest {
    static final String CPU_REASON = "the CPU: this libtorch is built for CUDA 12.4 but no NVIDIA driver found (nvidia-smi is not installed or not"
            + " on the PATH); install the NVIDIA driver";

    /** Answers at once, except the download, which waits until cancelled. */
    static final class Probe implements EngineViewModel.Probe {
        final CountDownLatch downloadStarted = new CountDownLatch(1);

        @Override
        public String libtorch() {
            return "libtorch 2.5.1 cu124 in /opt/convllava/lib/app/libtorch (the GPU package)";
        }

        @Override
        public String runsOn(Device requested) {
            return CPU_REASON;
        }

        @Override
        public String driver() {
            return "no NVIDIA driver found (nvidia-smi is not installed or not on the PATH)";
        }

        @Override
        public String folderProblem(Path folder) {
            return "Settings: " + folder + " does not exist";
        }

        @Override
        public String cudaFlavor() {
            return "cu124";
        }

        @Override
        public Path download(Consumer<String> lines, BooleanSupplier cancelled) {
            lines.accept("Downloading libtorch_cuda.so.gz ...");
            downloadStarted.countDown();
            while (!cancelled.getAsBoolean()) {
                Thread.onSpinWait();
            }
            throw new ai.convllava.model.api.ConvLlavaException("cancelled");
        }
    }

    @Test
    void engineSectionShowsWhyNotTheGpuChecksTheFolderAndCancelsADownload(UiFixture ui) throws Exception {
        AppSettings settings = new AppSettings();
        Probe probe = new Probe();
        Thread[] worker = new Thread[1];
        EngineViewModel vm = new EngineViewModel(settings, r -> {
            worker[0] = new Thread(r, "test-background");
            worker[0].start();
        }, javafx.application.Platform::runLater, probe);
        SettingsView view = fx(() -> new SettingsView(settings, null, null).withEngine(vm));
        Stage stage = ui.track(fx(() -> {
            Stage s = new Stage();
            s.setScene(new Scene(view.sheet(), 700, 900));
            s.show();
            return s;
        }));
        worker[0].join(10_000);
        UiSupport.await("the reason why not the GPU is shown", 10, () -> view.sheet().lookupAll(".setting-text").stream()
                .map(n -> ((Label) n).getText()).anyMatch(CPU_REASON::equals));
        Label runsOn = fx(() -> view.sheet().lookupAll(".setting-text").stream().map(n -> (Label) n)
                .filter(l -> "Runs on".equals(l.getAccessibleText())).findFirst().orElseThrow());
        assertTrue(fx(runsOn::isWrapText), "a sentence, wrapped rather than cut off");
        assertFalse(fx(runsOn::isDisabled), "read-only but not greyed out");

        TextField folder = fx(() -> view.sheet().lookupAll(".setting-field").stream().map(n -> (TextField) n)
                .filter(f -> "libtorch folder".equals(f.getAccessibleText())).findFirst().orElseThrow());
        Label problem = fx(() -> (Label) folder.getParent().getParent().lookup(".field-problem"));
        assertFalse(fx(problem::isVisible), "empty: the bundled libtorch, no problem");
        run(() -> folder.setText("/nowhere"));
        assertEquals("Settings: /nowhere does not exist", fx(problem::getText));
        assertTrue(fx(problem::isVisible));
        assertEquals("", settings.libtorchFolderProperty().get(), "not taken while it has a problem");

        Button download = fx(() -> view.sheet().lookupAll(".button").stream().filter(n -> n instanceof Button b && b.getText().equals("Download (online)"))
                .map(n -> (Button) n).findFirst().orElseThrow());
        Button cancel = fx(() -> view.sheet().lookupAll(".button").stream().filter(n -> n instanceof Button b && b.getText().equals("Cancel"))
                .map(n -> (Button) n).findFirst().orElseThrow());
        assertFalse(fx(cancel::isVisible));
        assertFalse(fx(download::isDisabled), "Download is offered");
        run(download::fire);
        assertTrue(probe.downloadStarted.await(10, TimeUnit.SECONDS));
        UiSupport.await("while it downloads: Cancel, and no second Download", 10, () -> cancel.isVisible() && download.isDisabled());
        run(cancel::fire);
        UiSupport.await("cancelled", 10, () -> "download cancelled".equals(vm.downloadStatusProperty().get()));
        assertFalse(fx(cancel::isVisible));
        assertFalse(fx(download::isDisabled));
        run(stage::close);
    }
}
