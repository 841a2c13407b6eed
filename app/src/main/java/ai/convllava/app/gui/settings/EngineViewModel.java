package ai.convllava.app.gui.settings;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.EngineInfo;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Settings > Engine: which libtorch runs the model and where (CPU or GPU, and why not the GPU), what the
 * NVIDIA driver reports, the libtorch folder to use from the next start (checked as it is typed) and,
 * for users who opt in while online, DJL's download of the CUDA libtorch this build can use. Finding out
 * loads the engine and runs nvidia-smi, so it happens on the background executor.
 */
public final class EngineViewModel {
    /** What the engine says, replaceable in tests. */
    public interface Probe {
        String libtorch();

        String runsOn(Device requested);

        String driver();

        /** Null when the folder looks usable. */
        String folderProblem(Path folder);

        /** The CUDA flavour DJL would download, or null when this build has none for this OS. */
        String cudaFlavor();

        Path download(Consumer<String> lines, BooleanSupplier cancelled);

        Probe ENGINE = new Probe() {
            @Override
            public String libtorch() {
                return EngineInfo.libtorchStatus();
            }

            @Override
            public String runsOn(Device requested) {
                return EngineInfo.deviceStatus(requested);
            }

            @Override
            public String driver() {
                return EngineInfo.gpuDriverStatus();
            }

            @Override
            public String folderProblem(Path folder) {
                return EngineInfo.libtorchFolderProblem(folder);
            }

            @Override
            public String cudaFlavor() {
                return EngineInfo.cudaFlavor();
            }

            @Override
            public Path download(Consumer<String> lines, BooleanSupplier cancelled) {
                return EngineInfo.downloadCudaLibtorch(lines, cancelled);
            }
        };
    }

    private final AppSettings settings;
    private final Executor background;
    private final Executor ui;
    private final Probe probe;
    private final ReadOnlyStringWrapper libtorch = new ReadOnlyStringWrapper(this, "libtorch", "");
    private final ReadOnlyStringWrapper runsOn = new ReadOnlyStringWrapper(this, "runsOn", "finding out…");
    private final ReadOnlyStringWrapper driver = new ReadOnlyStringWrapper(this, "driver", "finding out…");
    private final ReadOnlyStringWrapper downloadStatus = new ReadOnlyStringWrapper(this, "downloadStatus", "");
    private final ReadOnlyBooleanWrapper downloading = new ReadOnlyBooleanWrapper(this, "downloading", false);
    private final AtomicBoolean cancel = new AtomicBoolean();

    public EngineViewModel(AppSettings settings, Executor background, Executor ui, Probe probe) {
        this.settings = settings;
        this.background = background;
        this.ui = ui;
        this.probe = probe;
        String flavor = probe.cudaFlavor();
        downloadStatus.set(flavor == null ? "this build has no CUDA PyTorch library for this system: nothing to download"
                : "not downloaded (libtorch " + flavor + ", about 2.5 GB, from DJL's servers)");
    }

    /** Finds out, in the background, where the model runs with the Device setting and what the driver says. */
    public void refresh() {
        Device requested = settings.deviceProperty().get();
        background.execute(() -> {
            String lib = probe.libtorch();
            String on = probe.runsOn(requested);
            String drv = probe.driver();
            ui.execute(() -> {
                libtorch.set(lib);
                runsOn.set(on);
                driver.set(drv);
            });
        });
    }

    /** Why the libtorch folder typed cannot be used, or null (an empty field means the bundled libtorch). */
    public String folderProblem(String text) {
        String t = text == null ? "" : text.strip();
        if (t.isEmpty()) {
            return null;
        }
        try {
            return probe.folderProblem(Path.of(t));
        } catch (InvalidPathException e) {
            return "not a path: " + e.getMessage();
        }
    }

    /**
     * Takes a typed folder when it looks usable (the field keeps what is typed meanwhile); used from the next
     * start. Returns why it cannot be used, or null when it was taken: the folder is read once per keystroke.
     */
    public String setFolder(String text) {
        String why = folderProblem(text);
        if (why == null) {
            settings.libtorchFolderProperty().set(text == null ? "" : text.strip());
        }
        return why;
    }

    public boolean canDownload() {
        return probe.cudaFlavor() != null;
    }

    /** Lets DJL download the CUDA libtorch (the user asked: this goes online); on success the folder setting names it. */
    public void download() {
        if (downloading.get() || !canDownload()) {
            return;
        }
        cancel.set(false);
        downloading.set(true);
        downloadStatus.set("starting DJL's download…");
        background.execute(() -> {
            String outcome;
            Path dir = null;
            try {
                dir = probe.download(line -> {
                    String shown = line.length() > 160 ? line.substring(0, 157) + "…" : line;
                    ui.execute(() -> downloadStatus.set(shown));
                }, cancel::get);
                outcome = "downloaded to " + dir + "; it is used from the next start";
            } catch (ConvLlavaException e) {
                outcome = cancel.get() ? "download cancelled" : e.getMessage();
            }
            String message = outcome;
            Path folder = dir;
            ui.execute(() -> {
                downloading.set(false);
                downloadStatus.set(message);
                if (folder != null) {
                    settings.libtorchFolderProperty().set(folder.toString());
                }
            });
        });
    }

    public void cancelDownload() {
        cancel.set(true);
    }

    public ReadOnlyStringProperty libtorchProperty() {
        return libtorch.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty runsOnProperty() {
        return runsOn.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty driverProperty() {
        return driver.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty downloadStatusProperty() {
        return downloadStatus.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty downloadingProperty() {
        return downloading.getReadOnlyProperty();
    }
}
