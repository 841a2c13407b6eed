package ai.convllava.app.gui.settings;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings > Engine without a screen: what it shows, the folder field's checks, the opt-in download. */
class EngineViewModelTest {
    final AppSettings settings = new AppSettings();
    final List<Runnable> background = new ArrayList<>();
    final Executor queued = background::add;
    final Executor direct = Runnable::run;
    final List<Device> askedFor = new ArrayList<>();

    class FakeProbe implements EngineViewModel.Probe {
        String flavor = "cu128";
        Path downloaded = Path.of("/home/u/.djl.ai/pytorch/2.7.1-cu128-linux-x86_64");
        String failure;

        @Override
        public String libtorch() {
            return "the libtorch bundled in the app's jars";
        }

        @Override
        public String runsOn(Device requested) {
            askedFor.add(requested);
            return "the CPU: no NVIDIA GPU found (no NVIDIA driver found)";
        }

        @Override
        public String driver() {
            return "no NVIDIA driver found";
        }

        @Override
        public String folderProblem(Path folder) {
            return folder.toString().endsWith("good") ? null : "Settings: " + folder + " has no libtorch.so";
        }

        @Override
        public String cudaFlavor() {
            return flavor;
        }

        @Override
        public Path download(Consumer<String> lines, BooleanSupplier cancelled) {
            lines.accept("Downloading https://publish.djl.ai/pytorch/2.7.1/cu128/linux-x86_64/native/lib/libtorch_cuda.so.gz ...");
            if (cancelled.getAsBoolean()) {
                throw new ConvLlavaException("downloading libtorch cu128 through DJL failed: cancelled");
            }
            if (failure != null) {
                throw new ConvLlavaException(failure);
            }
            return downloaded;
        }
    }

    void runBackground() {
        while (!background.isEmpty()) {
            background.remove(0).run();
        }
    }

    @Test
    void refreshFindsOutInTheBackgroundForTheDeviceSetting() {
        settings.deviceProperty().set(Device.GPU);
        EngineViewModel vm = new EngineViewModel(settings, queued, direct, new FakeProbe());
        vm.refresh();
        assertEquals("finding out…", vm.runsOnProperty().get(), "nothing is asked on the calling (UI) thread");
        assertTrue(askedFor.isEmpty());
        runBackground();
        assertEquals(List.of(Device.GPU), askedFor);
        assertEquals("the CPU: no NVIDIA GPU found (no NVIDIA driver found)", vm.runsOnProperty().get());
        assertEquals("no NVIDIA driver found", vm.driverProperty().get());
        assertEquals("the libtorch bundled in the app's jars", vm.libtorchProperty().get());
    }

    @Test
    void theFolderIsCheckedAsTypedAndTakenOnlyWhenUsable() {
        EngineViewModel vm = new EngineViewModel(settings, queued, direct, new FakeProbe());
        assertNull(vm.folderProblem("  "), "empty: the bundled libtorch");
        assertEquals("Settings: /opt/libtorch has no libtorch.so", vm.folderProblem("/opt/libtorch"));
        assertEquals("Settings: /opt/libtorch has no libtorch.so", vm.setFolder("/opt/libtorch"), "the reason, for the field");
        assertEquals("", settings.libtorchFolderProperty().get(), "a folder with a problem is not saved");
        assertNull(vm.setFolder(" /opt/good "));
        assertEquals("/opt/good", settings.libtorchFolderProperty().get());
        vm.setFolder("");
        assertEquals("", settings.libtorchFolderProperty().get(), "emptied: back to the bundled one");
    }

    @Test
    void aDownloadSetsTheFolderForTheNextStart() {
        FakeProbe probe = new FakeProbe();
        EngineViewModel vm = new EngineViewModel(settings, queued, direct, probe);
        assertTrue(vm.downloadStatusProperty().get().startsWith("not downloaded (libtorch cu128"));
        vm.download();
        assertTrue(vm.downloadingProperty().get());
        vm.download(); // a second click while it runs starts nothing
        assertEquals(1, background.size());
        runBackground();
        assertFalse(vm.downloadingProperty().get());
        assertEquals(probe.downloaded.toString(), settings.libtorchFolderProperty().get());
        assertEquals("downloaded to " + probe.downloaded + "; it is used from the next start", vm.downloadStatusProperty().get());
    }

    @Test
    void aFailedOrCancelledDownloadSaysSoAndChangesNothing() {
        FakeProbe probe = new FakeProbe();
        probe.failure = "downloading libtorch cu128 through DJL failed: loading it failed (exit code 3): UnknownHostException: publish.djl.ai";
        EngineViewModel vm = new EngineViewModel(settings, queued, direct, probe);
        vm.download();
        runBackground();
        assertEquals(probe.failure, vm.downloadStatusProperty().get());
        assertEquals("", settings.libtorchFolderProperty().get());

        vm.download();
        vm.cancelDownload();
        runBackground();
        assertEquals("download cancelled", vm.downloadStatusProperty().get());
        assertEquals("", settings.libtorchFolderProperty().get());
    }

    @Test
    void nothingToDownloadWithoutACudaJniForThisSystem() {
        FakeProbe probe = new FakeProbe();
        probe.flavor = null;
        EngineViewModel vm = new EngineViewModel(settings, queued, direct, probe);
        assertFalse(vm.canDownload());
        vm.download();
        assertTrue(background.isEmpty());
        assertTrue(vm.downloadStatusProperty().get().startsWith("this build has no CUDA PyTorch library for this system"));
    }
}
