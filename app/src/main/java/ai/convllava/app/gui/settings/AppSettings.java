package ai.convllava.app.gui.settings;

import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.image.CanvasMode;
import javafx.beans.Observable;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ListProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.Property;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleListProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;

import java.util.List;

/**
 * Everything the user can set, as observable properties; {@link SettingsStore} persists them. The
 * defaults reproduce the command line's ({@code convllava ask}): greedy, 512 new tokens, pad mode,
 * ConvLLaVA's own system prompt.
 */
public final class AppSettings {
    public static final int RANDOM_SEED = -1;
    public static final int DEFAULT_HEATMAP_STORE_MB = 256;

    /**
     * Where a divider may be, as a fraction of its split pane, and where it starts. A position outside
     * (a hand-edited file, or one saved by an older version while its window was too small) would give
     * one pane almost nothing, so it is moved to the nearest end of the range when read.
     */
    public record DividerRange(double min, double max, double initial) {
        public double clamp(double position) {
            return Double.isNaN(position) ? initial : Math.max(min, Math.min(max, position));
        }
    }

    /** The sidebar's share of the window's width. */
    public static final DividerRange SIDEBAR_DIVIDER = new DividerRange(0.08, 0.4, 0.17);
    /** The preview's share of the work area (preview and chat) when the chat is beside it. */
    public static final DividerRange PREVIEW_DIVIDER = new DividerRange(0.25, 0.75, 0.52);
    /** The preview's share of the work area's height when the chat is below it (a narrow window). */
    public static final DividerRange STACKED_DIVIDER = new DividerRange(0.25, 0.75, 0.5);
    /** The smallest window the layout is made for (the stage's minimum size). */
    public static final double MIN_WINDOW_WIDTH = 800;
    public static final double MIN_WINDOW_HEIGHT = 600;

    private final DoubleProperty temperature = new SimpleDoubleProperty(this, "temperature", 0);
    private final DoubleProperty topP = new SimpleDoubleProperty(this, "topP", 1.0);
    private final IntegerProperty topK = new SimpleIntegerProperty(this, "topK", 0);
    private final DoubleProperty repetitionPenalty = new SimpleDoubleProperty(this, "repetitionPenalty", 1.0);
    private final IntegerProperty maxNewTokens = new SimpleIntegerProperty(this, "maxNewTokens", 512);
    private final IntegerProperty seed = new SimpleIntegerProperty(this, "seed", RANDOM_SEED);
    private final StringProperty systemPrompt = new SimpleStringProperty(this, "systemPrompt", ChatRequest.VICUNA_V1_SYSTEM);
    private final BooleanProperty readWhileTyping = new SimpleBooleanProperty(this, "readWhileTyping", true);
    private final ObjectProperty<CanvasMode> canvasMode = new SimpleObjectProperty<>(this, "canvasMode", CanvasMode.PAD);
    private final ObjectProperty<Device> device = new SimpleObjectProperty<>(this, "device", Device.AUTO);
    private final ObjectProperty<TowerMemory> towerMemory = new SimpleObjectProperty<>(this, "towerMemory", TowerMemory.AUTO);
    private final ObjectProperty<WeightChoice> weights = new SimpleObjectProperty<>(this, "weights", WeightChoice.AUTO);
    private final StringProperty modelDir = new SimpleStringProperty(this, "modelDir", "");
    private final StringProperty visionTowerDir = new SimpleStringProperty(this, "visionTowerDir", "");
    /** A libtorch folder to load instead of the bundled one, from the next start (read before the engine loads); empty: the bundled one. */
    private final StringProperty libtorchFolder = new SimpleStringProperty(this, "libtorchFolder", "");
    private final IntegerProperty heatmapStoreMb = new SimpleIntegerProperty(this, "heatmapStoreMb", DEFAULT_HEATMAP_STORE_MB);
    private final ListProperty<String> recentModels = new SimpleListProperty<>(this, "recentModels", FXCollections.observableArrayList());
    private final ObjectProperty<Theme> theme = new SimpleObjectProperty<>(this, "theme", Theme.LIGHT);
    private final BooleanProperty showGrid = new SimpleBooleanProperty(this, "showGrid", true);
    private final DoubleProperty windowX = new SimpleDoubleProperty(this, "windowX", Double.NaN);
    private final DoubleProperty windowY = new SimpleDoubleProperty(this, "windowY", Double.NaN);
    /** NaN until the window was first shown: the first start sizes it from the screen. */
    private final DoubleProperty windowWidth = new SimpleDoubleProperty(this, "windowWidth", Double.NaN);
    private final DoubleProperty windowHeight = new SimpleDoubleProperty(this, "windowHeight", Double.NaN);
    private final BooleanProperty windowMaximized = new SimpleBooleanProperty(this, "windowMaximized", false);
    private final DoubleProperty sidebarDivider = new SimpleDoubleProperty(this, "sidebarDivider", SIDEBAR_DIVIDER.initial());
    private final DoubleProperty previewDivider = new SimpleDoubleProperty(this, "previewDivider", PREVIEW_DIVIDER.initial());
    private final DoubleProperty stackedDivider = new SimpleDoubleProperty(this, "stackedDivider", STACKED_DIVIDER.initial());

    /** Every persisted property, for change tracking. */
    public List<Observable> all() {
        return List.of(temperature, topP, topK, repetitionPenalty, maxNewTokens, seed, systemPrompt, readWhileTyping, canvasMode, device,
                modelDir, visionTowerDir, libtorchFolder, towerMemory, weights, theme, showGrid, windowX, windowY, windowWidth, windowHeight, windowMaximized,
                sidebarDivider, previewDivider, stackedDivider, recentModels, heatmapStoreMb);
    }

    /**
     * Puts the window size and the dividers back into their ranges ({@link SettingsStore#load} does this
     * for what it read): a window smaller than {@link #MIN_WINDOW_WIDTH} x {@link #MIN_WINDOW_HEIGHT}
     * grows to it, a divider outside its range moves to the nearest end.
     */
    public void clampLayout() {
        if (windowWidth.get() < MIN_WINDOW_WIDTH) {
            windowWidth.set(MIN_WINDOW_WIDTH);
        }
        if (windowHeight.get() < MIN_WINDOW_HEIGHT) {
            windowHeight.set(MIN_WINDOW_HEIGHT);
        }
        sidebarDivider.set(SIDEBAR_DIVIDER.clamp(sidebarDivider.get()));
        previewDivider.set(PREVIEW_DIVIDER.clamp(previewDivider.get()));
        stackedDivider.set(STACKED_DIVIDER.clamp(stackedDivider.get()));
    }

    /** The decoding settings; throws IllegalArgumentException with a user-facing message when one is out of range. */
    public GenerationConfig generationConfig() {
        return generationConfig(maxNewTokens.get(), temperature.get(), topP.get(), topK.get(), repetitionPenalty.get(), seed.get());
    }

    /** The same from numbers as these settings hold them ({@link #RANDOM_SEED} for a random seed), e.g. a saved conversation's. */
    public static GenerationConfig generationConfig(int maxNewTokens, double temperature, double topP, int topK, double repetitionPenalty, int seed) {
        Long s = seed == RANDOM_SEED ? null : (long) seed;
        return new GenerationConfig(maxNewTokens, temperature, topP, topK, repetitionPenalty, s, false);
    }

    /**
     * Why {@code text}, typed into one of the numeric answer settings ({@code setting} is its property),
     * cannot be its value; null when it can. It must be a number of the setting's kind and pass the
     * engine's own checks ({@link GenerationConfig}'s), which name the setting, its range and the value;
     * the other settings are taken at their defaults, so one setting's reason never speaks of another.
     */
    public String problem(Property<?> setting, String text) {
        String t = text == null ? "" : text.strip();
        boolean whole = setting instanceof IntegerProperty;
        Number n;
        try {
            n = whole ? Integer.valueOf(t) : Double.valueOf(t);
        } catch (NumberFormatException e) {
            return (whole ? "a whole number is needed" : "a number is needed") + (t.isEmpty() ? "" : " (got \"" + t + "\")");
        }
        if (setting == seed) {
            return null; // any whole number: -1 draws a new seed each time
        }
        if (setting == heatmapStoreMb) {
            return n.intValue() < 0 ? "heatmaps kept (MB) must be >= 0, 0 saving none (got " + n.intValue() + ")" : null;
        }
        AppSettings d = new AppSettings();
        try {
            generationConfig(setting == maxNewTokens ? n.intValue() : d.maxNewTokens.get(),
                    setting == temperature ? n.doubleValue() : d.temperature.get(),
                    setting == topP ? n.doubleValue() : d.topP.get(),
                    setting == topK ? n.intValue() : d.topK.get(),
                    setting == repetitionPenalty ? n.doubleValue() : d.repetitionPenalty.get(),
                    RANDOM_SEED);
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** The system prompt for a request: null when it is ConvLLaVA's own (or blank), so requests match the CLI's. */
    public String systemPromptForRequest() {
        String s = systemPrompt.get();
        return s == null || s.isBlank() || s.equals(ChatRequest.VICUNA_V1_SYSTEM) ? null : s;
    }

    /** How the language model's weights are held (applies at the next model load). */
    public ObjectProperty<WeightChoice> weightsProperty() {
        return weights;
    }

    public DoubleProperty temperatureProperty() {
        return temperature;
    }

    public DoubleProperty topPProperty() {
        return topP;
    }

    public IntegerProperty topKProperty() {
        return topK;
    }

    public DoubleProperty repetitionPenaltyProperty() {
        return repetitionPenalty;
    }

    public IntegerProperty maxNewTokensProperty() {
        return maxNewTokens;
    }

    public IntegerProperty seedProperty() {
        return seed;
    }

    public StringProperty systemPromptProperty() {
        return systemPrompt;
    }

    /** Read the question into the model while it is typed (the answer starts sooner); on by default. */
    public BooleanProperty readWhileTypingProperty() {
        return readWhileTyping;
    }

    public ObjectProperty<CanvasMode> canvasModeProperty() {
        return canvasMode;
    }

    public ObjectProperty<Device> deviceProperty() {
        return device;
    }

    public ObjectProperty<TowerMemory> towerMemoryProperty() {
        return towerMemory;
    }

    public StringProperty modelDirProperty() {
        return modelDir;
    }

    public StringProperty visionTowerDirProperty() {
        return visionTowerDir;
    }

    public StringProperty libtorchFolderProperty() {
        return libtorchFolder;
    }

    /**
     * How much disk the answers' saved heatmaps may take, in MB; beyond it the least recently written are
     * dropped. 0 keeps none (heatmaps then last only while their conversation is open).
     */
    public IntegerProperty heatmapStoreMbProperty() {
        return heatmapStoreMb;
    }

    /** {@link #heatmapStoreMbProperty} in bytes; a negative value (hand-edited: {@link #problem} refuses one typed) is not a size and means the default. */
    public long heatmapStoreBytes() {
        int mb = heatmapStoreMb.get();
        return (mb < 0 ? DEFAULT_HEATMAP_STORE_MB : mb) * 1_000_000L;
    }

    /** Model folders that loaded, most recent first (the Model menu's Recent models). */
    public ListProperty<String> recentModelsProperty() {
        return recentModels;
    }

    public ObjectProperty<Theme> themeProperty() {
        return theme;
    }

    public BooleanProperty showGridProperty() {
        return showGrid;
    }

    public DoubleProperty windowXProperty() {
        return windowX;
    }

    public DoubleProperty windowYProperty() {
        return windowY;
    }

    public DoubleProperty windowWidthProperty() {
        return windowWidth;
    }

    public DoubleProperty windowHeightProperty() {
        return windowHeight;
    }

    public BooleanProperty windowMaximizedProperty() {
        return windowMaximized;
    }

    public DoubleProperty sidebarDividerProperty() {
        return sidebarDivider;
    }

    public DoubleProperty previewDividerProperty() {
        return previewDivider;
    }

    public DoubleProperty stackedDividerProperty() {
        return stackedDivider;
    }
}
