package ai.convllava.app.gui.settings;

import ai.convllava.model.api.Device;
import ai.convllava.model.api.MemoryPlan;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.image.CanvasMode;
import javafx.beans.binding.Bindings;
import javafx.beans.property.Property;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.value.ObservableValue;
import javafx.collections.FXCollections;
import javafx.css.PseudoClass;
import javafx.geometry.Rectangle2D;
import javafx.scene.Node;
import javafx.scene.control.Button;
import javafx.scene.control.ButtonType;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Dialog;
import javafx.scene.control.Label;
import javafx.scene.control.TextField;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyEvent;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.stage.DirectoryChooser;
import javafx.stage.Screen;
import javafx.stage.Window;
import javafx.util.StringConverter;
import org.controlsfx.control.PropertySheet;
import org.controlsfx.property.editor.AbstractPropertyEditor;
import org.controlsfx.property.editor.DefaultPropertyEditorFactory;
import org.controlsfx.property.editor.PropertyEditor;

import java.io.File;
import java.math.BigDecimal;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/** The settings sheet (ControlsFX PropertySheet); edits apply at once and are saved by the settings store. */
public final class SettingsView {
    private static final DefaultPropertyEditorFactory DEFAULTS = new DefaultPropertyEditorFactory();
    private final PropertySheet sheet;
    private final AppSettings settings;
    private EngineViewModel engine;

    /**
     * @param plan what the current model needs in each weight format on this computer, or null when not known
     *             (no model folder yet)
     */
    public SettingsView(AppSettings s, ModelInfo model, MemoryPlan plan) {
        this.settings = s;
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
                new Item<>("Image", "Canvas mode", "Pad to square: the square canvas ConvLLaVA was trained with; Native aspect: keep"
                        + " the image's aspect ratio (documents)",
                        CanvasMode.class, s.canvasModeProperty()),
                new Item<>("Model", "Device", "Auto uses a CUDA GPU when there is one, else the CPU (Settings > Engine says which and why);"
                        + " applies at the next model load", Device.class, s.deviceProperty()),
                new Item<>("Model", "Vision tower memory", "Kept in memory: the image encoder stays loaded; Streamed: it is read for each new"
                        + " image and the word embeddings for each word (~1.6 GB less at 1536, about a second more per image);"
                        + " Auto streams only when the model would not fit"
                        + " (applies at the next model load)", TowerMemory.class, s.towerMemoryProperty()),
                new Item<>("Model", "Weights", weightsHelp(plan), WeightChoice.class, s.weightsProperty()),
                new Item<>("Model", "Threads", "Compute threads (read-only)", String.class, new ReadOnlyStringWrapper(threads), false),
                new Item<>("Appearance", "Theme", "Light or dark", Theme.class, s.themeProperty()),
                new Item<>("Storage", "Heatmaps kept (MB)", "Disk space for the answers' saved heatmaps (so they open again later);"
                        + " when a new one would exceed it, or when it is lowered, the oldest are deleted first; 0 saves none", Integer.class, s.heatmapStoreMbProperty()));
        sheet = new PropertySheet(FXCollections.observableArrayList(items));
        sheet.setMode(PropertySheet.Mode.CATEGORY);
        sheet.setModeSwitcherVisible(false);
        sheet.setSearchBoxVisible(false);
        sheet.getStyleClass().add("settings-sheet");
        sheet.setAccessibleText("Settings");
        sheet.setPropertyEditorFactory(this::editor);
        sheet.setPrefSize(620, 520);
        sheet.setMinSize(420, 300);
    }

    /** An enum setting's name as the sheet shows it (the constant's name is for the settings file). */
    /** Shows each choice by {@code name}; for choice and combo boxes that are not editable, which never read text back. */
    public static <T> StringConverter<T> namedBy(Function<? super T, String> name) {
        return new StringConverter<>() {
            @Override
            public String toString(T v) {
                return name.apply(v);
            }

            @Override
            public T fromString(String s) {
                return null; // not editable: the choices only
            }
        };
    }

    /** On a Mac with Apple silicon "GPU" is PyTorch's mps device, not CUDA (the engine's DeviceChoice). */
    static final boolean APPLE_SILICON = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("mac")
            && List.of("aarch64", "arm64").contains(System.getProperty("os.arch", ""));
    static final String GPU_LABEL = APPLE_SILICON ? "GPU (Apple, mps)" : "GPU (CUDA)";

    /** The device as the model bar names it: short, where {@link #label}'s longer names would widen the bar. */
    public static String shortLabel(Device d) {
        return d == null ? "" : switch (d) {
            case AUTO -> "Auto";
            case CPU -> "CPU";
            case GPU -> GPU_LABEL;
        };
    }

    public static String label(Object value) {
        if (value instanceof CanvasMode m) {
            return m == CanvasMode.PAD ? "Pad to square" : "Native aspect";
        }
        if (value instanceof Device d) {
            return switch (d) {
                case AUTO -> APPLE_SILICON ? "Auto (the CPU here: the Apple GPU is GPU)" : "Auto (a CUDA GPU when there is one)";
                case CPU -> "CPU";
                case GPU -> GPU_LABEL;
            };
        }
        if (value instanceof TowerMemory t) {
            return switch (t) {
                case AUTO -> "Auto (streamed only when the model would not fit)";
                case RESIDENT -> "Kept in memory";
                case STREAMED -> "Streamed from the checkpoint";
            };
        }
        if (value instanceof Theme t) {
            return t == Theme.LIGHT ? "Light" : "Dark";
        }
        return value == null ? "" : value.toString(); // WeightChoice names itself
    }

    /**
     * The numbers are typed into fields that check each keystroke and say why a value cannot be used,
     * beside the field (the setting keeps its last good value meanwhile); enums choose from readable
     * names; the rest are ControlsFX's editors.
     */
    private PropertyEditor<?> editor(PropertySheet.Item item) {
        if (item instanceof Item<?> i && i.editable && (i.type == Double.class || i.type == Integer.class)) {
            return new NumberEditor(i, settings);
        }
        if (item instanceof Item<?> i && engine != null && i.value == settings.libtorchFolderProperty()) {
            return new FolderEditor(i, engine);
        }
        if (item instanceof Item<?> i && engine != null && i.value == engine.downloadStatusProperty()) {
            return new DownloadEditor(i, engine);
        }
        if (item instanceof Item<?> i && i.shownAsText) {
            return new TextLine(i);
        }
        if (item.getType().isEnum() && item.isEditable()) {
            ComboBox<Object> box = new ComboBox<>(FXCollections.observableArrayList(item.getType().getEnumConstants()));
            box.setConverter(namedBy(SettingsView::label));
            box.setAccessibleText(item.getName());
            box.setMaxWidth(Double.MAX_VALUE);
            return new AbstractPropertyEditor<Object, ComboBox<Object>>(item, box) {
                @Override
                protected ObservableValue<Object> getObservableValue() {
                    return getEditor().valueProperty();
                }

                @Override
                public void setValue(Object v) {
                    getEditor().setValue(v);
                }
            };
        }
        return DEFAULTS.call(item);
    }

    /** A setting's text field and, under it, why what was typed cannot be used (hidden while nothing is wrong). */
    static final class CheckedField {
        private static final PseudoClass INVALID = PseudoClass.getPseudoClass("invalid");
        final TextField field = new TextField();
        final Label problem = new Label();

        CheckedField(String name) {
            field.getStyleClass().add("setting-field");
            field.setAccessibleText(name);
            problem.getStyleClass().add("field-problem");
            problem.setWrapText(true);
            problem.setMinHeight(Label.USE_PREF_SIZE);
            problem.setAccessibleText(name + ": problem");
            problem.visibleProperty().bind(problem.textProperty().isNotEmpty());
            problem.managedProperty().bind(problem.visibleProperty());
        }

        /** Shows {@code why} under the field and marks it invalid; null clears both. */
        void show(String why) {
            problem.setText(why == null ? "" : why);
            field.pseudoClassStateChanged(INVALID, why != null);
        }

        boolean hasProblem() {
            return !problem.getText().isEmpty();
        }
    }

    /** A number setting's field with, under it, why what was typed cannot be used. */
    static final class NumberEditor implements PropertyEditor<Object> {
        private final Item<?> item;
        private final CheckedField checked;
        private final TextField field;
        private final VBox box;

        NumberEditor(Item<?> item, AppSettings settings) {
            this.item = item;
            checked = new CheckedField(item.getName());
            field = checked.field;
            box = new VBox(2, field, checked.problem);
            setValue(item.getValue());
            field.textProperty().addListener((o, was, text) -> {
                String why = settings.problem((Property<?>) item.value, text);
                checked.show(why);
                if (why == null) {
                    item.setValue(parse(text));
                }
            });
        }

        private Number parse(String text) {
            return item.type == Integer.class ? (Number) Integer.valueOf(text.strip()) : (Number) Double.valueOf(text.strip());
        }

        @Override
        public Node getEditor() {
            return box;
        }

        @Override
        public Object getValue() {
            return item.getValue();
        }

        /** The setting's value from elsewhere; what is being typed stays when it already says that value. */
        @Override
        public void setValue(Object v) {
            if (!(v instanceof Number n)) {
                return;
            }
            if (!checked.hasProblem() && !field.getText().isBlank()) {
                try {
                    if (parse(field.getText()).doubleValue() == n.doubleValue()) {
                        return;
                    }
                } catch (NumberFormatException e) {
                    // not a number: replaced below
                }
            }
            field.setText(item.type == Integer.class ? Integer.toString(n.intValue())
                    : BigDecimal.valueOf(n.doubleValue()).stripTrailingZeros().toPlainString());
        }
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

    /**
     * Adds the Engine category: the libtorch in use, where the model runs and why, the NVIDIA driver's report
     * (found out in the background), the libtorch folder for the next start and the opt-in CUDA download.
     */
    public SettingsView withEngine(EngineViewModel e) {
        this.engine = e;
        sheet.getItems().addAll(
                Item.text("Engine", "libtorch in use", "The PyTorch library that runs the model, chosen when the app started",
                        e.libtorchProperty()),
                Item.text("Engine", "Runs on", "Where a model runs with the Device setting, and why not on the GPU when it does not",
                        e.runsOnProperty()),
                Item.text("Engine", "NVIDIA driver", "What the NVIDIA driver reports (nvidia-smi): GPUs, memory, driver and CUDA versions",
                        e.driverProperty()),
                new Item<>("Engine", "libtorch folder", "A libtorch to use instead of the bundled one, e.g. a CUDA build: the lib folder of"
                        + " PyTorch's libtorch download or torch/lib of a pip install, of the version this build needs. Checked as you type;"
                        + " tried in a separate process at the next start, and refused with the reason if it does not load. Empty: the bundled"
                        + " libtorch", String.class, settings.libtorchFolderProperty()),
                Item.text("Engine", "CUDA libtorch download", "Only when you ask: DJL downloads the CUDA libtorch this build can use"
                        + " (online, about 2.5 GB) and the folder above is set to it", e.downloadStatusProperty()));
        e.refresh();
        return this;
    }

    /** An editor that only shows: its node is bound to the view-model, so there is no value to set or read back. */
    abstract static class ShowingEditor implements PropertyEditor<Object> {
        abstract Node node();

        @Override
        public Node getEditor() {
            return node();
        }

        @Override
        public Object getValue() {
            return null;
        }

        @Override
        public void setValue(Object value) {
            // bound to the view-model
        }
    }

    /** A read-only line of text, wrapped rather than cut off (the reasons are sentences). */
    static final class TextLine extends ShowingEditor {
        private final Label label = new Label();

        TextLine(Item<?> item) {
            label.setWrapText(true);
            label.setMinHeight(Label.USE_PREF_SIZE);
            label.setAccessibleText(item.getName());
            label.getStyleClass().add("setting-text");
            label.textProperty().bind(Bindings.convert(item.value));
        }

        @Override
        Node node() {
            return label;
        }
    }

    /** The libtorch folder: typed or chosen, checked at each keystroke, the reason under the field. */
    static final class FolderEditor implements PropertyEditor<Object> {
        private final CheckedField checked;
        private final TextField field;
        private final VBox box;

        FolderEditor(Item<?> item, EngineViewModel engine) {
            checked = new CheckedField(item.getName());
            field = checked.field;
            field.setPromptText("empty: the bundled libtorch");
            field.setText(String.valueOf(item.getValue()));
            Button browse = new Button("Choose…");
            browse.setOnAction(a -> {
                DirectoryChooser dc = new DirectoryChooser();
                dc.setTitle("Choose a libtorch folder (the folder holding " + System.mapLibraryName("torch") + ")");
                File f = dc.showDialog(field.getScene() == null ? null : field.getScene().getWindow());
                if (f != null) {
                    field.setText(f.getAbsolutePath());
                }
            });
            HBox row = new HBox(4, field, browse);
            HBox.setHgrow(field, Priority.ALWAYS);
            box = new VBox(2, row, checked.problem);
            field.textProperty().addListener((o, was, text) -> checked.show(engine.setFolder(text)));
        }

        @Override
        public Node getEditor() {
            return box;
        }

        @Override
        public Object getValue() {
            return field.getText();
        }

        @Override
        public void setValue(Object v) {
            if (v != null && !v.toString().equals(field.getText()) && !checked.hasProblem()) {
                field.setText(v.toString());
            }
        }
    }

    /** Download and Cancel, with what DJL's download says. */
    static final class DownloadEditor extends ShowingEditor {
        private final VBox box;
        private final Label status = new Label();

        DownloadEditor(Item<?> item, EngineViewModel engine) {
            Button download = new Button("Download (online)");
            Button cancel = new Button("Cancel");
            download.setOnAction(a -> engine.download());
            cancel.setOnAction(a -> engine.cancelDownload());
            download.disableProperty().bind(engine.downloadingProperty().or(Bindings.createBooleanBinding(() -> !engine.canDownload())));
            cancel.visibleProperty().bind(engine.downloadingProperty());
            cancel.managedProperty().bind(cancel.visibleProperty());
            status.setWrapText(true);
            status.setMinHeight(Label.USE_PREF_SIZE);
            status.setAccessibleText(item.getName() + ": status");
            status.textProperty().bind(engine.downloadStatusProperty());
            box = new VBox(2, new HBox(4, download, cancel), status);
        }

        @Override
        Node node() {
            return box;
        }
    }

    /** Adds the Local server category: on/off, the port, and what the server is doing. */
    public SettingsView withLocalServer(ObservableValue<String> status) {
        sheet.getItems().addAll(
                new Item<>("Local server", "Serve the model to other tools", "Other programs on this computer ask the model through"
                        + " OpenAI's chat API (POST /v1/chat/completions, as `convllava serve`), on 127.0.0.1 only. The server loads a second"
                        + " copy of the model, so that its requests never replace your image or conversation: it needs the model's memory"
                        + " once more, and is refused with the numbers when that does not fit. Off by default", Boolean.class,
                        settings.localServerProperty()),
                new Item<>("Local server", "Port", "The port on 127.0.0.1 (default 8080); a change restarts the server", Integer.class,
                        settings.localServerPortProperty()),
                Item.text("Local server", "Status", "What the server is doing", status));
        return this;
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
        dialog(owner).showAndWait();
    }

    /**
     * The settings dialog, not shown yet: resizable (the sheet grows with it), as large as the sheet
     * wants up to most of the screen, closed by Close or Esc wherever the focus is.
     */
    public Dialog<ButtonType> dialog(Window owner) {
        Dialog<ButtonType> d = new Dialog<>();
        if (owner != null) {
            d.initOwner(owner);
            d.getDialogPane().getStylesheets().setAll(owner.getScene().getStylesheets());
        }
        d.setTitle("Settings");
        d.setResizable(true);
        d.getDialogPane().setContent(sheet);
        d.getDialogPane().getButtonTypes().add(ButtonType.CLOSE);
        Rectangle2D screen = Screen.getPrimary().getVisualBounds();
        d.getDialogPane().setPrefSize(Math.min(sheet.getPrefWidth() + 40, screen.getWidth() * 0.9),
                Math.min(sheet.getPrefHeight() + 80, screen.getHeight() * 0.85));
        d.getDialogPane().setMinSize(sheet.getMinWidth(), sheet.getMinHeight());
        // a field's own Esc handling must not keep the dialog open
        d.getDialogPane().addEventFilter(KeyEvent.KEY_PRESSED, e -> {
            if (e.getCode() == KeyCode.ESCAPE) {
                e.consume();
                d.setResult(ButtonType.CLOSE);
                d.close();
            }
        });
        return d;
    }

    /** One setting, backed by a property. */
    static final class Item<T> implements PropertySheet.Item {
        private final String category;
        private final String name;
        private final String description;
        private final Class<T> type;
        private final ObservableValue<?> value;
        private final boolean editable;
        /**
         * Read-only, shown by its own editor (a wrapped line of text, or buttons): the sheet is told it is
         * editable because it disables, and so greys out, the editors of read-only items.
         */
        private final boolean shownAsText;

        Item(String category, String name, String description, Class<T> type, ObservableValue<?> value) {
            this(category, name, description, type, value, true);
        }

        Item(String category, String name, String description, Class<T> type, ObservableValue<?> value, boolean editable) {
            this(category, name, description, type, value, editable, false);
        }

        private Item(String category, String name, String description, Class<T> type, ObservableValue<?> value, boolean editable, boolean shownAsText) {
            this.category = category;
            this.name = name;
            this.description = description;
            this.type = type;
            this.value = value;
            this.editable = editable;
            this.shownAsText = shownAsText;
        }

        /** A read-only line that stays readable (not greyed out), wrapped; see {@link #shownAsText}. */
        static Item<String> text(String category, String name, String description, ObservableValue<String> value) {
            return new Item<>(category, name, description, String.class, value, false, true);
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
            return editable || shownAsText;
        }
    }
}
