package ai.convllava.app.gui.models;

import ai.convllava.app.gui.common.Errors;
import ai.convllava.hub.DownloadHandle;
import ai.convllava.hub.DownloadListener;
import ai.convllava.hub.DownloadProgress;
import ai.convllava.hub.DownloadResult;
import ai.convllava.hub.ModelManager;
import ai.convllava.hub.ModelStatus;
import ai.convllava.hub.ModelVariant;
import ai.convllava.hub.RemoveReport;
import ai.convllava.hub.VerifyReport;
import ai.convllava.model.api.MachineSpeed;
import ai.convllava.model.api.MemoryPlan;
import ai.convllava.model.api.QuantizeReport;
import ai.convllava.model.api.QuantizedWeightFiles;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.WeightFormat;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.value.ChangeListener;
import javafx.beans.value.ObservableBooleanValue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The model manager: the three published ConvLLaVA sizes with what each costs (the memory of each
 * weight format on this computer) and whether it is installed in the Hugging Face cache; download
 * (resumable, verified), cancel, verify, remove, make its 8-bit or 4-bit weights, and "use" (load the
 * downloaded snapshot with its vision tower). File-system and network work runs on
 * {@code background}; every property changes on {@code ui}.
 */
public final class ModelManagerViewModel {
    /** A row's speed line before this computer is measured (or when it is never measured: no probe). */
    public static final String NOT_MEASURED = "This computer's speed is not measured yet";


    /** One size in the list. */
    public final class Row {
        private final ModelVariant variant;
        private final ReadOnlyObjectWrapper<ModelStatus.State> state = new ReadOnlyObjectWrapper<>(ModelStatus.State.NOT_INSTALLED);
        private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper("Checking\u2026");
        private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(0);
        private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper(false);
        private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper();
        private final ReadOnlyStringWrapper speed;
        private final ReadOnlyStringWrapper memory = new ReadOnlyStringWrapper("");
        private final ReadOnlyStringWrapper weights = new ReadOnlyStringWrapper("");
        private volatile DownloadHandle download;
        private volatile TaskHandle<QuantizeReport> quantizing;
        private volatile ModelStatus last;

        Row(ModelVariant variant) {
            this.variant = variant;
            this.speed = new ReadOnlyStringWrapper(NOT_MEASURED);
        }

        public ModelVariant variant() {
            return variant;
        }

        /** "ConvLLaVA-1536 · 576 visual tokens (1536 px canvas) · 16.3 GB download". */
        public String title() {
            return String.format(Locale.ROOT, "ConvLLaVA-%s \u00b7 %d visual tokens (%d px canvas) \u00b7 %s download",
                    variant.id(), variant.visualTokens(), variant.canvas(), gb(variant.downloadBytes()));
        }

        /** The memory each weight format needs on this computer ("RAM on the CPU: f16 15.9 GB, 8-bit 9.4 GB, 4-bit 6.0 GB; ..."). */
        public ReadOnlyStringProperty memoryProperty() {
            return memory.getReadOnlyProperty();
        }

        /** For an installed size: whether its 8-bit and 4-bit weights have been made; empty otherwise. */
        public ReadOnlyStringProperty weightsProperty() {
            return weights.getReadOnlyProperty();
        }

        /**
         * This computer's speed: not measured yet, being measured, or (once measured) the estimate for this
         * size on it. The figures the project measured on its own machine are in the docs, not here: they
         * say nothing about the computer the app runs on.
         */
        public ReadOnlyStringProperty speedProperty() {
            return speed.getReadOnlyProperty();
        }

        public ReadOnlyObjectProperty<ModelStatus.State> stateProperty() {
            return state.getReadOnlyProperty();
        }

        public ReadOnlyStringProperty statusProperty() {
            return status.getReadOnlyProperty();
        }

        public ReadOnlyDoubleProperty progressProperty() {
            return progress.getReadOnlyProperty();
        }

        public ReadOnlyBooleanProperty busyProperty() {
            return busy.getReadOnlyProperty();
        }

        public ReadOnlyStringProperty errorProperty() {
            return error.getReadOnlyProperty();
        }

        public boolean installed() {
            return state.get() == ModelStatus.State.INSTALLED;
        }
    }

    private final ModelManager manager;
    private final Executor background;
    private final Executor ui;
    private final List<Row> rows = new ArrayList<>();
    private final Supplier<MachineSpeed> machine;
    /** Whether the engine is working (loading, encoding, answering): the probe would measure a shared machine. */
    private final ObservableBooleanValue engineBusy;
    private final ChangeListener<Boolean> onEngineBusy = (o, was, busy) -> engineBusyChanged(busy);
    private Measurement measurement = Measurement.NOT_YET;
    /** The engine started working while the probe ran: its figures are too low and are measured again. */
    private boolean disturbed;
    private BiConsumer<Path, Path> onUse = (model, tower) -> { };

    /** Without a measurement of this computer: the rows say that its speed is not measured. */
    public ModelManagerViewModel(ModelManager manager, Executor background, Executor ui) {
        this(manager, background, ui, null);
    }

    /** Measures this computer whatever the engine is doing (no engine alongside: the CLI, tests). */
    public ModelManagerViewModel(ModelManager manager, Executor background, Executor ui, Supplier<MachineSpeed> machine) {
        this(manager, background, ui, machine, new SimpleBooleanProperty(false));
    }

    /**
     * @param machine    measures this computer (about 2 s of both cores, on {@code background}, once, at
     *                   the first {@link #refresh}); null to leave it out
     * @param engineBusy true while the engine loads, encodes or answers (read and observed on the UI
     *                   thread): the measurement waits until it is false, and one that the engine's work
     *                   overlapped is thrown away and taken again, since it would both slow the answer
     *                   down and underestimate this computer
     */
    public ModelManagerViewModel(ModelManager manager, Executor background, Executor ui, Supplier<MachineSpeed> machine,
                                 ObservableBooleanValue engineBusy) {
        this.manager = manager;
        this.background = background;
        this.ui = ui;
        this.machine = machine;
        this.engineBusy = engineBusy;
        for (ModelVariant v : manager.variants()) {
            rows.add(new Row(v));
        }
        engineBusy.addListener(onEngineBusy);
    }

    /** Stops following the engine (the window closed). */
    public void dispose() {
        engineBusy.removeListener(onEngineBusy);
    }

    private enum Measurement { NOT_YET, WAITING_FOR_IDLE, RUNNING, DONE }

    public List<Row> rows() {
        return List.copyOf(rows);
    }

    public String cacheFolder() {
        return manager.cache().root().toString();
    }

    /** Called with (model snapshot, vision tower snapshot) when the user chooses to use a downloaded size. */
    public void setOnUse(BiConsumer<Path, Path> onUse) {
        this.onUse = onUse;
    }

    /** Re-reads what is installed (and, the first time, measures this computer for the speed estimates). */
    public void refresh() {
        if (machine != null && measurement == Measurement.NOT_YET) {
            measureWhenIdle();
        }
        for (Row r : rows) {
            background.execute(() -> {
                ModelStatus s = manager.status(r.variant);
                String memory = memoryLine(r.variant);
                String weights = s.installed() ? weightsLine(s.modelSnapshot()) : "";
                ui.execute(() -> {
                    r.memory.set(memory);
                    if (!r.busy.get()) {
                        r.weights.set(weights);
                    }
                    show(r, s);
                });
            });
        }
    }

    /** What the size needs in memory in each weight format, and what this computer has free. */
    static String memoryLine(ModelVariant v) {
        try {
            MemoryPlan plan = MemoryPlan.ofStandard(v.canvas());
            return "RAM on the CPU: " + plan.describe() + (plan.availableBytes() > 0 ? String.format(Locale.ROOT, " (%.1f GB available now;"
                    + " Auto would load %s)", plan.availableBytes() / 1e9, MemoryPlan.label(plan.auto())) : "");
        } catch (RuntimeException | LinkageError e) { // not a standard canvas, or no engine: the published figure
            return "RAM on the CPU: about " + gb(v.ramBytesCpu()) + " with 16-bit weights";
        }
    }

    /** "8-bit weights: made (7.2 GB) · 4-bit weights: not made". */
    static String weightsLine(Path snapshot) {
        StringBuilder sb = new StringBuilder();
        for (WeightFormat f : List.of(WeightFormat.Q8_0, WeightFormat.Q4_K)) {
            if (sb.length() > 0) {
                sb.append(" \u00b7 ");
            }
            sb.append(MemoryPlan.label(f)).append(" weights: ");
            try {
                QuantizedWeightFiles.Status st = QuantizedWeightFiles.status(snapshot, f);
                sb.append(switch (st.availability()) {
                    case READY -> "made (" + gb(st.bytes()) + ")";
                    case NONE -> "not made";
                    case UNUSABLE -> "made from other files, make again";
                });
            } catch (RuntimeException e) {
                sb.append("unknown (").append(Errors.message(e)).append(')');
            }
        }
        return sb.toString();
    }

    private void measureWhenIdle() {
        if (engineBusy.get()) {
            measurement = Measurement.WAITING_FOR_IDLE;
            for (Row r : rows) {
                r.speed.set("This computer is measured once the model is idle");
            }
            return;
        }
        measurement = Measurement.RUNNING;
        disturbed = false;
        for (Row r : rows) {
            r.speed.set("Measuring this computer\u2026");
        }
        background.execute(() -> {
            MachineSpeed m;
            try {
                m = machine.get();
            } catch (RuntimeException | LinkageError e) { // no engine here: say so, with the reason
                ui.execute(() -> {
                    measurement = Measurement.DONE;
                    rows.forEach(r -> r.speed.set("This computer's speed could not be measured: " + e.getMessage()));
                });
                return;
            }
            ui.execute(() -> measured(m));
        });
    }

    private void measured(MachineSpeed m) {
        if (disturbed) {
            measureWhenIdle();
            return;
        }
        measurement = Measurement.DONE;
        showSpeed(m);
    }

    private void engineBusyChanged(boolean busy) {
        if (busy && measurement == Measurement.RUNNING) {
            disturbed = true;
        } else if (!busy && measurement == Measurement.WAITING_FOR_IDLE) {
            measureWhenIdle();
        }
    }

    private void showSpeed(MachineSpeed m) {
        for (Row r : rows) {
            MachineSpeed.Estimate e = m.estimate(r.variant.canvas(), r.variant.visualTokens());
            r.speed.set("This computer (" + m.describe() + ", measured now), float16 on the CPU: " + e.describe() + " (estimate).");
        }
    }

    private void show(Row r, ModelStatus s) {
        r.last = s;
        if (r.busy.get()) {
            return;
        }
        r.state.set(s.state());
        switch (s.state()) {
            case INSTALLED -> {
                r.status.set("Installed \u00b7 " + gb(s.bytesOnDisk()) + " in " + s.modelSnapshot());
                r.progress.set(1);
            }
            case PARTIAL -> {
                r.status.set("Partly downloaded (" + gb(s.partialBytes()) + "): Download resumes where it stopped");
                r.progress.set(Math.min(1, (double) s.partialBytes() / Math.max(1, r.variant.downloadBytes())));
            }
            default -> {
                r.status.set("Not installed");
                r.progress.set(0);
            }
        }
    }

    public void download(Row r) {
        if (r.busy.get()) {
            return;
        }
        r.busy.set(true);
        r.error.set(null);
        r.status.set("Listing files\u2026");
        r.progress.set(-1);
        DownloadHandle h = manager.download(r.variant, new DownloadListener() {
            @Override
            public void onProgress(DownloadProgress p) {
                ui.execute(() -> {
                    r.progress.set(p.bytesTotal() > 0 ? p.fraction() : -1);
                    r.status.set(describe(p));
                });
            }
        });
        r.download = h;
        h.result().whenComplete((res, e) -> ui.execute(() -> {
            r.download = null;
            r.busy.set(false);
            if (e != null) {
                r.error.set(Errors.message(e));
            } else if (res.status() == DownloadResult.Status.FAILED) {
                r.error.set(res.error() != null ? res.error().getMessage() : "the download failed");
            } else if (res.status() == DownloadResult.Status.CANCELLED) {
                r.error.set(null);
            }
            refresh();
        }));
    }

    public void cancel(Row r) {
        DownloadHandle h = r.download;
        if (h != null) {
            h.cancel();
            r.status.set("Cancelling\u2026 (the partial files are kept)");
        }
        TaskHandle<QuantizeReport> q = r.quantizing;
        if (q != null) {
            q.cancel();
            r.status.set("Cancelling\u2026 (nothing is kept)");
        }
    }

    /**
     * Makes the installed size's 8-bit or 4-bit weights ({@link QuantizedWeightFiles#quantize}) with
     * progress in the row; Cancel stops it and leaves no file.
     */
    public void makeWeights(Row r, WeightFormat format) {
        ModelStatus s = r.last;
        if (r.busy.get() || s == null || !s.installed()) {
            return;
        }
        r.busy.set(true);
        r.error.set(null);
        r.progress.set(-1);
        r.status.set("Making the " + MemoryPlan.label(format) + " weights\u2026");
        TaskHandle<QuantizeReport> h;
        try {
            h = QuantizedWeightFiles.quantize(s.modelSnapshot(), format, (stage, fraction) -> ui.execute(() -> {
                if (!r.busy.get()) {
                    return; // a last progress report that arrived after the result
                }
                r.progress.set(fraction > 0 ? fraction : -1);
                r.status.set(String.format(Locale.ROOT, "Making the %s weights \u00b7 %.0f%% \u00b7 %s", MemoryPlan.label(format),
                        100 * Math.max(0, fraction), stage));
            }));
        } catch (RuntimeException e) {
            r.busy.set(false);
            r.error.set(Errors.message(e));
            return;
        }
        r.quantizing = h;
        h.result().whenComplete((report, e) -> ui.execute(() -> {
            r.quantizing = null;
            refreshWeights(r, s.modelSnapshot());
            if (e == null) {
                r.error.set(null);
                r.status.set(String.format(Locale.ROOT, "%s weights made in %.0f s: %s, relative error %.2f%% (worst tensor %.2f%%)",
                        MemoryPlan.label(format), report.seconds(), gb(report.bytes()), 100 * report.meanError(), 100 * report.worstError()));
            } else {
                r.error.set(Errors.isCancellation(e) ? null : Errors.message(e));
                r.status.set(Errors.isCancellation(e) ? "Cancelled: no file was kept" : "The " + MemoryPlan.label(format) + " weights were not made");
                r.progress.set(0);
            }
            r.busy.set(false); // last: whoever waits for the row to be idle sees the outcome
        }));
    }

    private void refreshWeights(Row r, Path snapshot) {
        background.execute(() -> {
            String w = weightsLine(snapshot);
            ui.execute(() -> r.weights.set(w));
        });
    }

    public void verify(Row r) {
        if (r.busy.get()) {
            return;
        }
        r.busy.set(true);
        r.status.set("Verifying checksums\u2026");
        background.execute(() -> {
            String message;
            try {
                VerifyReport report = manager.verify(r.variant, false, DownloadListener.NONE);
                message = report.ok() ? "Verified: all " + report.files().size() + " files match their checksums"
                        : report.problems() + " of " + report.files().size() + " files are corrupt or missing: Download fetches them again";
            } catch (RuntimeException e) {
                message = Errors.message(e);
            }
            String m = message;
            ui.execute(() -> {
                r.busy.set(false);
                r.status.set(m);
            });
        });
    }

    public void remove(Row r) {
        if (r.busy.get()) {
            return;
        }
        r.busy.set(true);
        background.execute(() -> {
            String message;
            try {
                RemoveReport report = manager.remove(r.variant);
                message = "Removed · " + gb(report.bytesFreed()) + " freed";
            } catch (RuntimeException e) {
                message = Errors.message(e);
            }
            String m = message;
            ui.execute(() -> {
                r.busy.set(false);
                r.error.set(null);
                refresh();
                r.status.set(m);
            });
        });
    }

    /** Loads the downloaded snapshot with its tower (both repos must be complete). */
    public void use(Row r) {
        ModelStatus s = r.last;
        if (s == null || !s.installed()) {
            r.error.set("ConvLLaVA-" + r.variant.id() + " is not completely downloaded yet");
            return;
        }
        onUse.accept(s.modelSnapshot(), s.towerSnapshot());
    }

    static String describe(DownloadProgress p) {
        String phase = switch (p.phase()) {
            case LISTING -> "Listing files";
            case PREPARING -> "Checking the cache and disk space";
            case DOWNLOADING -> "Downloading";
            case FINISHING -> "Verifying and linking";
            case DONE -> "Done";
            case FAILED -> "Failed";
            case CANCELLED -> "Cancelled";
        };
        StringBuilder sb = new StringBuilder(phase);
        if (p.bytesTotal() > 0) {
            sb.append(String.format(Locale.ROOT, " \u00b7 %s of %s", gb(p.bytesDone()), gb(p.bytesTotal())));
        }
        if (p.bytesPerSecond() > 0) {
            sb.append(String.format(Locale.ROOT, " \u00b7 %.1f MB/s", p.bytesPerSecond() / 1e6));
        }
        Duration eta = p.eta();
        if (eta != null) {
            long s = eta.toSeconds();
            sb.append(s >= 3600 ? String.format(Locale.ROOT, " \u00b7 %d h %02d min left", s / 3600, (s % 3600) / 60)
                    : String.format(Locale.ROOT, " \u00b7 %d min %02d s left", s / 60, s % 60));
        }
        return sb.toString();
    }

    static String gb(long bytes) {
        return bytes >= 1_000_000_000L ? String.format(Locale.ROOT, "%.1f GB", bytes / 1e9) : String.format(Locale.ROOT, "%.0f MB", bytes / 1e6);
    }
}
