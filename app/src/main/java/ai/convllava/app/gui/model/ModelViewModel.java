package ai.convllava.app.gui.model;

import ai.convllava.app.gui.common.Coalescer;
import ai.convllava.app.gui.common.Errors;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.settings.WeightChoice;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.MemoryPlan;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.NotEnoughMemoryException;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.VisionChatSession;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The model: which folder, loading it (progress, cancel), what is in use, and why a load failed with
 * the way forward. Mirrors the service's state. A newly chosen folder is read first ({@link FolderCheck})
 * and only a usable one replaces the model in use, so a wrong choice neither unloads a working model nor
 * is remembered for the next start.
 */
public final class ModelViewModel {
    /** How many model folders the Recent models menu remembers. */
    public static final int RECENT_MODELS = 6;

    /**
     * Reads a model folder as a load would (config, checkpoint headers, vision tower) without loading it;
     * throws with what is wrong. {@link #ENGINE} in the app, a fake in the view-model tests.
     */
    @FunctionalInterface
    public interface FolderCheck {
        FolderCheck ENGINE = ModelViewModel::inspect;

        /** What the model needs in each weight format (the same reading a load starts with); throws when the folder cannot be used. */
        MemoryPlan check(LoadOptions options);
    }

    private final VisionChatSession service;
    private final AppSettings settings;
    private final Executor ui;
    private final Executor background;
    private final FolderCheck folderCheck;

    private final ReadOnlyObjectWrapper<SessionState> state = new ReadOnlyObjectWrapper<>(this, "state", SessionState.NO_MODEL);
    private final BooleanBinding engineBusy = Bindings.createBooleanBinding(() -> switch (state.get()) {
        case LOADING, ENCODING, READING_DRAFT, GENERATING -> true;
        case NO_MODEL, READY, ERROR -> false;
    }, state);
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(this, "progress", -1);
    private final ReadOnlyStringWrapper progressText = new ReadOnlyStringWrapper(this, "progressText", "");
    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper(this, "error");
    private final ReadOnlyBooleanWrapper visionTowerProblem = new ReadOnlyBooleanWrapper(this, "visionTowerProblem");
    private final ReadOnlyBooleanWrapper canUseSmallerWeights = new ReadOnlyBooleanWrapper(this, "canUseSmallerWeights");
    private final ReadOnlyObjectWrapper<ModelInfo> info = new ReadOnlyObjectWrapper<>(this, "info");
    private final ReadOnlyStringWrapper infoText = new ReadOnlyStringWrapper(this, "infoText", "No model: choose a model folder to ask questions");
    private final ReadOnlyBooleanWrapper loading = new ReadOnlyBooleanWrapper(this, "loading");
    private final ReadOnlyObjectWrapper<MemoryPlan> memoryPlan = new ReadOnlyObjectWrapper<>(this, "memoryPlan");
    private final AtomicReference<String> latestStage = new AtomicReference<>("");
    private volatile double latestFraction = -1;
    private final Coalescer progressUpdate;
    private TaskHandle<ModelInfo> current;
    private Runnable onLoaded = () -> { };
    /** The last folder refused for want of its vision tower; a vision tower chosen next goes with it. */
    private Path refused;
    /** Bumped by every choice, so only the latest choice's check acts. */
    private int choice;

    /**
     * @param background reads model folders for the memory plan (never the UI thread)
     */
    public ModelViewModel(VisionChatSession service, AppSettings settings, Executor ui, Executor background) {
        this(service, settings, ui, background, FolderCheck.ENGINE);
    }

    /**
     * @param background  reads model folders for the memory plan and the check (never the UI thread)
     * @param folderCheck reads a newly chosen folder before it replaces the model in use
     */
    public ModelViewModel(VisionChatSession service, AppSettings settings, Executor ui, Executor background, FolderCheck folderCheck) {
        this.service = service;
        this.settings = settings;
        this.ui = ui;
        this.background = background;
        this.folderCheck = folderCheck;
        this.progressUpdate = new Coalescer(ui, () -> {
            progressText.set(latestStage.get());
            progress.set(latestFraction);
        });
        state.set(service.state());
        service.addStateListener(s -> ui.execute(() -> state.set(s)));
    }

    /** Run (on the UI thread) after every successful load: the image preview re-runs with the model's canvas. */
    public void setOnLoaded(Runnable r) {
        onLoaded = r;
    }

    public boolean hasModelFolder() {
        return !settings.modelDirProperty().get().isBlank();
    }

    /** Loads the model folder from the settings (with the vision tower and device there). */
    public void load() {
        String dir = settings.modelDirProperty().get();
        if (dir.isBlank()) {
            fail("Choose a ConvLLaVA model folder (ConvLLaVA-sft-768, -1024 or -1536) to ask questions; the image preview works without one.");
            return;
        }
        String tower = settings.visionTowerDirProperty().get();
        LoadOptions options = LoadOptions.of(Path.of(dir)).withDevice(settings.deviceProperty().get())
                .withTowerMemory(settings.towerMemoryProperty().get())
                .withWeightFormat(settings.weightsProperty().get().format())
                .withVisionTower(tower.isBlank() ? null : Path.of(tower));
        if (current != null) {
            current.cancel();
        }
        // this load supersedes a chosen folder still being checked (its answer is then ignored) and any folder
        // refused for want of its vision tower: a tower chosen from now on goes with this model
        choice++;
        refused = null;
        error.set(null);
        visionTowerProblem.set(false);
        canUseSmallerWeights.set(false);
        loading.set(true);
        progress.set(-1);
        progressText.set("Loading " + Path.of(dir).getFileName() + "\u2026");
        state.set(SessionState.LOADING);
        TaskHandle<ModelInfo> h = service.loadModel(options, (stage, fraction) -> {
            latestStage.set(stage);
            latestFraction = fraction;
            progressUpdate.request();
        });
        current = h;
        h.result().whenComplete((mi, e) -> ui.execute(() -> {
            if (current != h) {
                return;
            }
            current = null;
            loading.set(false);
            progress.set(-1);
            progressText.set("");
            if (e == null) {
                info.set(mi);
                infoText.set(describe(mi));
                remember(dir);
                onLoaded.run();
                refreshMemoryPlan(options);
            } else if (Errors.isCancellation(e)) {
                info.set(null);
                infoText.set("Loading cancelled: no model");
            } else {
                info.set(null);
                fail(Errors.message(e));
                canUseSmallerWeights.set(Errors.unwrap(e) instanceof NotEnoughMemoryException
                        && settings.weightsProperty().get() != WeightChoice.Q4_K);
                refreshMemoryPlan(options);
            }
        }));
    }

    /**
     * Works out, on the background executor, what the model needs in each weight format on this computer
     * (the Settings' Weights help); a folder that cannot be read leaves the plan empty.
     */
    private void refreshMemoryPlan(LoadOptions options) {
        background.execute(() -> {
            MemoryPlan plan;
            try {
                plan = MemoryPlan.of(options);
            } catch (RuntimeException e) {
                plan = null;
            }
            MemoryPlan p = plan;
            ui.execute(() -> memoryPlan.set(p));
        });
    }

    /** What the current model needs in each weight format here, once worked out after a load; null before. */
    public ReadOnlyObjectProperty<MemoryPlan> memoryPlanProperty() {
        return memoryPlan.getReadOnlyProperty();
    }

    private void fail(String message) {
        error.set(message);
        String m = message.toLowerCase(Locale.ROOT);
        visionTowerProblem.set(m.contains("vision tower") || m.contains("convnext"));
        infoText.set("No model");
    }

    public static String describe(ModelInfo mi) {
        return String.format(Locale.ROOT, "%s \u00b7 %s \u00b7 %s weights \u00b7 %d px canvas \u00b7 loaded in %.1f s", mi.name(), mi.device(),
                mi.weightFormat(), mi.canvasSide(), mi.loadSeconds());
    }

    public void cancelLoad() {
        if (current != null) {
            current.cancel();
        }
    }

    /**
     * A folder the user chose: read in the background first; a usable one becomes the model (and is
     * remembered), a refused one leaves the model in use and the settings as they are, with what is wrong.
     */
    public void chooseModelFolder(Path dir) {
        switchTo(dir, null);
    }

    /** A model downloaded by the model manager: its snapshot and its vision tower's snapshot. */
    public void useDownloaded(Path model, Path tower) {
        settings.modelDirProperty().set(model.toString());
        settings.visionTowerDirProperty().set(tower == null ? "" : tower.toString());
        load();
    }

    /** The vision tower for the folder just refused for want of one, else for the model folder in the settings. */
    public void chooseVisionTower(Path dir) {
        Path model = refused != null ? refused : hasModelFolder() ? Path.of(settings.modelDirProperty().get()) : null;
        if (model == null) {
            reject("Choose the model folder first; its vision tower " + dir + " is used with it.");
            return;
        }
        switchTo(model, dir);
    }

    private void switchTo(Path dir, Path tower) {
        LoadOptions options = LoadOptions.of(dir).withDevice(settings.deviceProperty().get())
                .withTowerMemory(settings.towerMemoryProperty().get())
                .withWeightFormat(settings.weightsProperty().get().format())
                .withVisionTower(tower);
        int mine = ++choice;
        error.set(null);
        visionTowerProblem.set(false);
        background.execute(() -> {
            RuntimeException problem = null;
            try {
                folderCheck.check(options);
            } catch (RuntimeException e) {
                problem = e;
            }
            RuntimeException p = problem;
            ui.execute(() -> {
                if (mine != choice) {
                    return;
                }
                if (p == null) {
                    settings.modelDirProperty().set(dir.toString());
                    settings.visionTowerDirProperty().set(tower == null ? "" : tower.toString());
                    load();
                } else {
                    ModelInfo inUse = info.get();
                    reject(Errors.message(p) + (inUse != null ? " \u2014 still using " + inUse.name() + "." : ""));
                    refused = visionTowerProblem.get() ? dir : null;
                }
            });
        });
    }

    /** A refused choice: the message and the way forward, the model in use (if any) untouched. */
    private void reject(String message) {
        error.set(message);
        String m = message.toLowerCase(Locale.ROOT);
        visionTowerProblem.set(m.contains("vision tower") || m.contains("convnext"));
    }

    /**
     * {@link FolderCheck#ENGINE}: what the engine cannot say as plainly (a file instead of a folder, no
     * permission to read it; the same for a chosen vision tower), then the engine's own reading of the folder.
     */
    static MemoryPlan inspect(LoadOptions options) {
        Path dir = options.modelDir();
        if (Files.isRegularFile(dir)) {
            throw new IllegalArgumentException(dir + " is a file, not a folder: choose the model folder that holds config.json");
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("the model folder " + dir + " does not exist");
        }
        if (!Files.isReadable(dir) || !Files.isExecutable(dir)) {
            throw new IllegalArgumentException("no permission to read the model folder " + dir);
        }
        Path config = dir.resolve("config.json");
        if (Files.exists(config) && !Files.isReadable(config)) {
            throw new IllegalArgumentException("no permission to read " + config);
        }
        Path tower = options.visionTower();
        if (tower != null && Files.isRegularFile(tower)) {
            throw new IllegalArgumentException(tower + " is a file, not a folder: choose the vision tower folder (ConvLLaVA-ConvNeXt-\u2026)"
                    + " that holds config.json");
        }
        if (tower != null && Files.isDirectory(tower) && (!Files.isReadable(tower) || !Files.isExecutable(tower))) {
            throw new IllegalArgumentException("no permission to read the vision tower folder " + tower);
        }
        return MemoryPlan.of(options);
    }

    /** A loaded folder goes to the top of the recent models (once), the oldest beyond {@link #RECENT_MODELS} dropped. */
    private void remember(String dir) {
        List<String> recent = new ArrayList<>(settings.recentModelsProperty());
        recent.remove(dir);
        recent.add(0, dir);
        settings.recentModelsProperty().setAll(recent.subList(0, Math.min(RECENT_MODELS, recent.size())));
    }

    /**
     * Where a folder chooser opens: beside the model in use, else beside the most recent model that is
     * still there, else the home folder (never the toolkit's own default, GTK's "Recent").
     */
    public Path chooserStartFolder() {
        List<String> candidates = new ArrayList<>();
        candidates.add(settings.modelDirProperty().get());
        candidates.addAll(settings.recentModelsProperty());
        for (String c : candidates) {
            if (c == null || c.isBlank()) {
                continue;
            }
            try {
                Path parent = Path.of(c).toAbsolutePath().getParent();
                if (parent != null && Files.isDirectory(parent)) {
                    return parent;
                }
            } catch (RuntimeException e) {
                // a hand-edited setting that is not a path: try the next
            }
        }
        return Path.of(System.getProperty("user.home"));
    }

    /** After a refusal for memory: load again with 4-bit weights (the Weights setting changes too). */
    public void useSmallerWeights() {
        settings.weightsProperty().set(WeightChoice.Q4_K);
        load();
    }

    /** The load was refused for memory and 4-bit weights were not tried yet. */
    public ReadOnlyBooleanProperty canUseSmallerWeightsProperty() {
        return canUseSmallerWeights.getReadOnlyProperty();
    }

    public void dismissError() {
        error.set(null);
    }

    public boolean isReady() {
        SessionState s = state.get();
        return info.get() != null && (s == SessionState.READY || s == SessionState.ENCODING || s == SessionState.READING_DRAFT
                || s == SessionState.GENERATING);
    }

    public ReadOnlyObjectProperty<SessionState> stateProperty() {
        return state.getReadOnlyProperty();
    }

    /** True while the engine loads, encodes, reads a draft or answers: its cores are taken. */
    public BooleanBinding engineBusyProperty() {
        return engineBusy;
    }

    public ReadOnlyDoubleProperty progressProperty() {
        return progress.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty progressTextProperty() {
        return progressText.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty errorProperty() {
        return error.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty visionTowerProblemProperty() {
        return visionTowerProblem.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<ModelInfo> infoProperty() {
        return info.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty infoTextProperty() {
        return infoText.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty loadingProperty() {
        return loading.getReadOnlyProperty();
    }
}
