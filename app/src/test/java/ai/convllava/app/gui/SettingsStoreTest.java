package ai.convllava.app.gui;

import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.settings.SettingsStore;
import ai.convllava.app.gui.settings.Theme;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.image.CanvasMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SettingsStoreTest {
    @TempDir
    Path tmp;

    @Test
    void settingsRoundTrip() throws Exception {
        SettingsStore store = new SettingsStore(tmp.resolve("config/settings.json"));
        AppSettings s = store.load();
        assertEquals(0, s.temperatureProperty().get());
        assertTrue(s.readWhileTypingProperty().get(), "reading the question while it is typed is on by default");
        s.temperatureProperty().set(0.7);
        s.topKProperty().set(40);
        s.seedProperty().set(42);
        s.systemPromptProperty().set("Be brief.");
        s.canvasModeProperty().set(CanvasMode.NATIVE);
        s.deviceProperty().set(Device.CPU);
        s.towerMemoryProperty().set(TowerMemory.STREAMED);
        s.themeProperty().set(Theme.DARK);
        s.modelDirProperty().set("/models/ConvLLaVA-sft-1536");
        s.windowWidthProperty().set(1111);
        s.readWhileTypingProperty().set(false);
        s.recentModelsProperty().setAll("/models/ConvLLaVA-sft-1536", "/models/tiny");
        store.save(s);

        AppSettings r = store.load();
        assertEquals(0.7, r.temperatureProperty().get());
        assertEquals(40, r.topKProperty().get());
        assertEquals("Be brief.", r.systemPromptForRequest());
        assertEquals(CanvasMode.NATIVE, r.canvasModeProperty().get());
        assertEquals(Device.CPU, r.deviceProperty().get());
        assertEquals(TowerMemory.STREAMED, r.towerMemoryProperty().get());
        assertEquals(Theme.DARK, r.themeProperty().get());
        assertEquals("/models/ConvLLaVA-sft-1536", r.modelDirProperty().get());
        assertEquals(1111, r.windowWidthProperty().get());
        assertFalse(r.readWhileTypingProperty().get());
        assertEquals(java.util.List.of("/models/ConvLLaVA-sft-1536", "/models/tiny"), r.recentModelsProperty().get());
        GenerationConfig g = r.generationConfig();
        assertEquals(42L, g.seed());
        assertEquals(0.7, g.temperature());
    }

    @Test
    void dividersAndWindowSizeOutOfRangeAreClampedWhenRead() throws Exception {
        Path file = tmp.resolve("settings.json");
        // what an older version saved after its window had been made too small: the sidebar over most of
        // the window, the preview squeezed to nothing, a window smaller than the layout is made for
        Files.writeString(file, "{\"sidebarDivider\": 0.93, \"previewDivider\": 0.01, \"stackedDivider\": -2,"
                + " \"windowWidth\": 320, \"windowHeight\": 90}");
        AppSettings s = new SettingsStore(file).load();
        assertEquals(AppSettings.SIDEBAR_DIVIDER.max(), s.sidebarDividerProperty().get());
        assertEquals(AppSettings.PREVIEW_DIVIDER.min(), s.previewDividerProperty().get());
        assertEquals(AppSettings.STACKED_DIVIDER.min(), s.stackedDividerProperty().get());
        assertEquals(AppSettings.MIN_WINDOW_WIDTH, s.windowWidthProperty().get());
        assertEquals(AppSettings.MIN_WINDOW_HEIGHT, s.windowHeightProperty().get());
        assertTrue(AppSettings.SIDEBAR_DIVIDER.max() < 0.5 && AppSettings.PREVIEW_DIVIDER.min() > 0.1, "the ranges leave each pane room");

        // positions inside their ranges are kept as they were
        Files.writeString(file, "{\"sidebarDivider\": 0.2, \"previewDivider\": 0.6, \"windowWidth\": 1500, \"windowHeight\": 900}");
        AppSettings kept = new SettingsStore(file).load();
        assertEquals(0.2, kept.sidebarDividerProperty().get());
        assertEquals(0.6, kept.previewDividerProperty().get());
        assertEquals(1500, kept.windowWidthProperty().get());

        // no size saved yet (the first start): it stays unknown, for the app to size the window from the screen
        Files.writeString(file, "{}");
        assertTrue(Double.isNaN(new SettingsStore(file).load().windowWidthProperty().get()));
    }

    @Test
    void autoSaveWritesOnChange() throws Exception {
        SettingsStore store = new SettingsStore(tmp.resolve("settings.json"));
        AppSettings s = store.load();
        store.autoSave(s, Runnable::run);
        s.maxNewTokensProperty().set(77);
        assertEquals(77, store.load().maxNewTokensProperty().get());
    }

    @Test
    void aBrokenFileGivesDefaults() throws Exception {
        Path f = tmp.resolve("settings.json");
        Files.writeString(f, "{ not json");
        AppSettings s = new SettingsStore(f).load();
        assertEquals(512, s.maxNewTokensProperty().get());
        Files.writeString(f, "{\"theme\": \"PURPLE\", \"topK\": \"many\", \"maxNewTokens\": 64}");
        s = new SettingsStore(f).load();
        assertEquals(Theme.LIGHT, s.themeProperty().get());
        assertEquals(0, s.topKProperty().get());
        assertEquals(64, s.maxNewTokensProperty().get());
        assertNull(s.generationConfig().seed(), "seed -1 draws one");
    }
}
