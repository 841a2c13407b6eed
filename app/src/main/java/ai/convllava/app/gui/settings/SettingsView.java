package ai.convllava.app.gui.settings;

import ai.convllava.model.api.Device;
import ai.convllava.model.api.MemoryPlan;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.image.CanvasMode;
import javafx.beans.property.Property;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.value.ObservableValue;
import javafx.collections.FXCollections;
import javafx.scene.control.ButtonType;
import javafx.scene.control.Dialog;
import javafx.stage.Window;
import org.controlsfx.control.PropertySheet;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The settings sheet (ControlsFX PropertySheet); edits apply at once and are saved by the settings store. */
public final class SettingsView {
    private final PropertySheet sheet;

    /**
     * @param plan what the current model needs in each weight format on this computer, or null when not known
     *             (no model folder yet)
     */
    public SettingsView(AppSettings s, ModelInfo model, MemoryPlan plan) {
        String threads = Runtime.getRuntime().availableProcessors() + " processors"
                + (model != null ? "; model on " + model.device() : "; no model loaded");
        List<PropertySheet.Item> items = List.of(
                new Item<>("Answer", "Temperature", "0 = greedy (always the most likely token); higher is more varied", Double.class,
                        s.temperatureProperty()),
                new Item<>("Answer", "Top-p", "Nucleus sampling: keep the smallest set of tokens whose probability reaches p (1 = off)",
                        Double.class, s.topPProperty()),
                new Item<>("Answer", "Top-k", "Sample among the k most likely tokens (0 = off)", Integer.class, s.topKProperty()),
                new Item<>("Answer", "Repetition penalty", "1 = off; above 1 discourages repeating tokens", Double.class,
                        s.repetitionPenaltyProperty()),
                new Item<>("Answer", "Max new tokens", "Longest answer, in tokens", Integer.class, s.maxNewTokensProperty()),
                new Item<>("Answer", "Seed", "Random seed for sampling; -1 draws a new one each time", Integer.class, s.seedProperty()),
                new Item<>("Answer", "System prompt", "Sent before the conversation (default: ConvLLaVA's own)", String.class,
                        s.systemPromptProperty()),
                new Item<>("Answer", "Read the question while I type", "While you type and the model is idle, your question is read"
                        + " into the model, so the answer starts sooner; turn off to leave the processor alone", Boolean.class,
                        s.readWhileTypingProperty()),
                new Item<>("Image", "Canvas mode", "PAD: square canvas as trained; NATIVE: keep the aspect ratio (documents)",
                        CanvasMode.class, s.canvasModeProperty()),
                new Item<>("Model", "Device", "AUTO uses a CUDA GPU when present", Device.class, s.deviceProperty()),
                new Item<>("Model", "Vision tower memory", "RESIDENT keeps the image encoder in memory; STREAMED reads it for each new"
                        + " image and the word embeddings for each word (~1.6 GB less at 1536, about a second more per image);"
                        + " AUTO streams only when the model would not fit"
                        + " (applies at the next model load)", TowerMemory.class, s.towerMemoryProperty()),
                new Item<>("Model", "Weights", weightsHelp(plan), WeightChoice.class, s.weightsProperty()),
                new Item<>("Model", "Threads", "Compute threads (read-only)", String.class, new ReadOnlyStringWrapper(threads), false),
                new Item<>("Appearance", "Theme", "Light or dark", Theme.class, s.themeProperty()),
                new Item<>("Storage", "Heatmaps kept (MB)", "Disk space for the answers' saved heatmaps (so they open again later);"
                        + " when a new one would exceed it, the oldest are deleted first; 0 saves none", Integer.class, s.heatmapStoreMbProperty()));
        sheet = new PropertySheet(FXCollections.observableArrayList(items));
        sheet.setMode(PropertySheet.Mode.CATEGORY);
        sheet.setModeSwitcherVisible(false);
        sheet.setSearchBoxVisible(false);
        sheet.getStyleClass().add("settings-sheet");
        sheet.setAccessibleText("Settings");
        sheet.setPrefSize(560, 460);
    }

    /** The Weights setting's help: what each choice costs and gives, and with a plan, this computer's numbers. */
    static String weightsHelp(MemoryPlan plan) {
        StringBuilder sb = new StringBuilder("How the language model's weights are held (applies at the next model load). 16-bit: as published."
                + " 8-bit: about half the memory, nearly the same answers (weights off by about 0.5% RMS)."
                + " 4-bit: about a third of the memory, a little less accurate (weights off by about 7% RMS)."
                + " 8-bit and 4-bit load in seconds once their file is made (Download models, or `convllava models quantize`);"
                + " without it they are made while loading, which takes minutes. Auto: the most accurate that fits.");
        if (plan != null) {
            sb.append(" This model on this computer needs: ").append(plan.describe());
            if (plan.availableBytes() > 0) {
                sb.append(String.format(Locale.ROOT, "; %.1f GB is available now", plan.availableBytes() / 1e9));
            }
            sb.append("; Auto picks ").append(MemoryPlan.label(plan.auto())).append('.');
        }
        return sb.toString();
    }

    /** Adds the read-only line of how much disk the saved heatmaps take now. */
    public SettingsView withHeatmapUsage(ObservableValue<String> usage) {
        sheet.getItems().add(new Item<>("Storage", "Heatmaps on disk", "What the saved heatmaps take now", String.class, usage, false));
        return this;
    }

    public PropertySheet sheet() {
        return sheet;
    }

    public void showDialog(Window owner) {
        Dialog<ButtonType> d = new Dialog<>();
        d.initOwner(owner);
        d.setTitle("Settings");
        d.getDialogPane().setContent(sheet);
        d.getDialogPane().getButtonTypes().add(ButtonType.CLOSE);
        d.getDialogPane().getStylesheets().setAll(owner.getScene().getStylesheets());
        d.showAndWait();
    }

    /** One setting, backed by a property. */
    static final class Item<T> implements PropertySheet.Item {
        private final String category;
        private final String name;
        private final String description;
        private final Class<T> type;
        private final ObservableValue<?> value;
        private final boolean editable;

        Item(String category, String name, String description, Class<T> type, ObservableValue<?> value) {
            this(category, name, description, type, value, true);
        }

        Item(String category, String name, String description, Class<T> type, ObservableValue<?> value, boolean editable) {
            this.category = category;
            this.name = name;
            this.description = description;
            this.type = type;
            this.value = value;
            this.editable = editable;
        }

        @Override
        public Class<?> getType() {
            return type;
        }

        @Override
        public String getCategory() {
            return category;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public String getDescription() {
            return description;
        }

        @Override
        public Object getValue() {
            return value.getValue();
        }

        @Override
        @SuppressWarnings("unchecked")
        public void setValue(Object v) {
            if (!editable || !(value instanceof Property<?>) || v == null) {
                return;
            }
            Property<Object> p = (Property<Object>) value;
            if (type == Integer.class && v instanceof Number n) {
                p.setValue(n.intValue());
            } else if (type == Double.class && v instanceof Number n) {
                p.setValue(n.doubleValue());
            } else {
                p.setValue(v);
            }
        }

        @Override
        public Optional<ObservableValue<? extends Object>> getObservableValue() {
            return Optional.of(value);
        }

        @Override
        public boolean isEditable() {
            return editable;
        }
    }
}
