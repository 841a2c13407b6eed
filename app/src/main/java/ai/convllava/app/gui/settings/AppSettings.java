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
    private final IntegerProperty heatmapStoreMb = new SimpleIntegerProperty(this, "heatmapStoreMb", DEFAULT_HEATMAP_STORE_MB);
    private final ListProperty<String> recentModels = new SimpleListProperty<>(this, "recentModels", FXCollections.observableArrayList());
    private final ObjectProperty<Theme> theme = new SimpleObjectProperty<>(this, "theme", Theme.LIGHT);
    private final BooleanProperty showGrid = new SimpleBooleanProperty(this, "showGrid", true);
    private final DoubleProperty windowX = new SimpleDoubleProperty(this, "windowX", Double.NaN);
    private final DoubleProperty windowY = new SimpleDoubleProperty(this, "windowY", Double.NaN);
    private final DoubleProperty windowWidth = new SimpleDoubleProperty(this, "windowWidth", 1320);
    private final DoubleProperty windowHeight = new SimpleDoubleProperty(this, "windowHeight", 840);
    private final BooleanProperty windowMaximized = new SimpleBooleanProperty(this, "windowMaximized", false);
    private final DoubleProperty sidebarDivider = new SimpleDoubleProperty(this, "sidebarDivider", 0.17);
    private final DoubleProperty previewDivider = new SimpleDoubleProperty(this, "previewDivider", 0.6);

    /** Every persisted property, for change tracking. */
    public List<Observable> all() {
        return List.of(temperature, topP, topK, repetitionPenalty, maxNewTokens, seed, systemPrompt, readWhileTyping, canvasMode, device,
                modelDir, visionTowerDir, towerMemory, weights, theme, showGrid, windowX, windowY, windowWidth, windowHeight, windowMaximized,
                sidebarDivider,
                previewDivider, recentModels, heatmapStoreMb);
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

    /**
     * How much disk the answers' saved heatmaps may take, in MB; beyond it the least recently written are
     * dropped. 0 keeps none (heatmaps then last only while their conversation is open).
     */
    public IntegerProperty heatmapStoreMbProperty() {
        return heatmapStoreMb;
    }

    /** {@link #heatmapStoreMbProperty} in bytes; a negative value (typed or hand-edited) is not a size and means the default. */
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
}
