package ai.convllava.app.gui.model;

import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.hub.ModelVariant;
import ai.convllava.model.api.MachineSpeed;
import ai.convllava.model.api.MemoryPlan;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The way to a working model while there is none (the first start): one sentence saying what to do,
 * the size to download with its download and memory, what it should take on this computer (measured
 * once, in the background), and the bundled demo model when the installation has one.
 */
public final class FirstRunViewModel {
    /** The size suggested first: the smallest canvas, the quickest first answer. */
    public static final String SUGGESTED_SIZE = "768";
    /** A folder given with {@code -Dconvllava.demo.model=DIR} is the bundled demo model (else {@code demo-model/} beside convllava.jar). */
    public static final String DEMO_PROPERTY = "convllava.demo.model";

    private final ModelViewModel model;
    private final Executor background;
    private final Executor ui;
    private final Supplier<MachineSpeed> machine;
    private final Supplier<Optional<Path>> demoLocator;
    private final ModelVariant suggested = ModelVariant.standard(SUGGESTED_SIZE);

    private final BooleanBinding shown;
    private final ReadOnlyObjectWrapper<Path> demoModel = new ReadOnlyObjectWrapper<>(this, "demoModel");
    private final ReadOnlyStringWrapper sentence = new ReadOnlyStringWrapper(this, "sentence");
    private final ReadOnlyStringWrapper estimate = new ReadOnlyStringWrapper(this, "estimate", "");
    private boolean measured;

    /**
     * @param machine     measures this computer (a couple of seconds of every core, on {@code background}, once)
     * @param demoLocator the bundled demo model's folder, if the installation has one ({@link #bundledDemoModel})
     */
    public FirstRunViewModel(ModelViewModel model, AppSettings settings, Executor background, Executor ui, Supplier<MachineSpeed> machine,
                             Supplier<Optional<Path>> demoLocator) {
        this.model = model;
        this.background = background;
        this.ui = ui;
        this.machine = machine;
        this.demoLocator = demoLocator;
        this.shown = Bindings.createBooleanBinding(() -> settings.modelDirProperty().get().isBlank() && model.infoProperty().get() == null
                && !model.loadingProperty().get(), settings.modelDirProperty(), model.infoProperty(), model.loadingProperty());
        sentence.set(sentence(null));
    }

    /** At start: looks for the demo model and, when there is no model, measures this computer for the estimate. */
    public void start() {
        background.execute(() -> {
            Optional<Path> demo;
            try {
                demo = demoLocator.get();
            } catch (RuntimeException e) {
                demo = Optional.empty();
            }
            Path d = demo.orElse(null);
            ui.execute(() -> {
                demoModel.set(d);
                sentence.set(sentence(d));
                if (shown.get()) {
                    measure();
                }
            });
        });
    }

    private String sentence(Path demo) {
        return "No model yet: to ask about images, " + (demo != null ? "try the small demo model that came with the app, " : "")
                + "download ConvLLaVA-" + suggested.id() + " (" + gb(suggested.downloadBytes()) + ") or choose a model folder you already have.";
    }

    private void measure() {
        if (measured) {
            return;
        }
        measured = true;
        estimate.set("Measuring this computer for a speed estimate\u2026");
        background.execute(() -> {
            String memory = memory();
            String text;
            try {
                MachineSpeed.Estimate e = machine.get().estimate(suggested.canvas(), suggested.visualTokens());
                text = "On this computer ConvLLaVA-" + suggested.id() + " should take: " + e.describe() + " (estimate, float16 on the CPU).";
            } catch (RuntimeException | LinkageError e) {
                text = "Measured on the " + suggested.speedNote() + ".";
            }
            String t = memory + text;
            ui.execute(() -> estimate.set(t));
        });
    }

    /** The memory of each weight format from the engine's plan for the published size, else the published figure. */
    private String memory() {
        try {
            MemoryPlan plan = MemoryPlan.ofStandard(suggested.canvas());
            return "RAM it needs: " + plan.describe() + ". ";
        } catch (RuntimeException | LinkageError e) {
            return "It needs about " + gb(suggested.ramBytesCpu()) + " of RAM. ";
        }
    }

    /** Loads the bundled demo model (checked like any chosen folder). */
    public void useDemoModel() {
        Path d = demoModel.get();
        if (d != null) {
            model.chooseModelFolder(d);
        }
    }

    /** True while there is no model, none loading and no folder chosen: the first start, or after the model was forgotten. */
    public BooleanBinding shownProperty() {
        return shown;
    }

    /** The bundled demo model's folder, or null when this installation has none. */
    public ReadOnlyObjectProperty<Path> demoModelProperty() {
        return demoModel.getReadOnlyProperty();
    }

    /** What to do, in one sentence. */
    public ReadOnlyStringProperty sentenceProperty() {
        return sentence.getReadOnlyProperty();
    }

    /** The suggested size's memory and what it should take here (once measured). */
    public ReadOnlyStringProperty estimateProperty() {
        return estimate.getReadOnlyProperty();
    }

    /** The size the Download button means. */
    public ModelVariant suggested() {
        return suggested;
    }

    /**
     * The demo model bundled with the installation: the folder in {@value #DEMO_PROPERTY}, else
     * {@code demo-model/} beside convllava.jar; only a folder with a config.json counts.
     */
    public static Optional<Path> bundledDemoModel() {
        String prop = System.getProperty(DEMO_PROPERTY);
        Path candidate = null;
        if (prop != null && !prop.isBlank()) {
            candidate = Path.of(prop);
        } else {
            try {
                var src = FirstRunViewModel.class.getProtectionDomain().getCodeSource();
                if (src != null) {
                    candidate = Path.of(src.getLocation().toURI()).toAbsolutePath().getParent().resolve("demo-model");
                }
            } catch (URISyntaxException | RuntimeException e) {
                return Optional.empty();
            }
        }
        return candidate != null && Files.isRegularFile(candidate.resolve("config.json")) ? Optional.of(candidate) : Optional.empty();
    }

    private static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
    }
}
