package ai.convllava.model.config;

import ai.convllava.model.engine.ModelLoader;
import ai.convllava.model.Goldens;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.nn.LoadListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Finding the vision tower the ways users have it on disk, and config validation. */
class ModelFolderTest {
    static final Path TINY = Goldens.TINY;

    static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    static Path model(Path root, String towerName) throws IOException {
        return model(root, "ConvLLaVA-sft-256", towerName);
    }

    static Path model(Path root, String folderName, String towerName) throws IOException {
        Path m = root.resolve(folderName);
        copyTree(TINY.resolve("tiny-convllava"), m);
        String cfg = Files.readString(m.resolve("config.json")).replace("\"tiny-convllava-convnext\"", "\"" + towerName + "\"");
        Files.writeString(m.resolve("config.json"), cfg);
        return m;
    }

    static Optional<Path> find(Path modelDir, Map<String, String> env, Path home) {
        return ModelFolder.open(modelDir).findVisionTowerFolder(env, home);
    }

    @Test
    void towerBesideTheModelByNameOrLastSegment(@TempDir Path tmp) throws IOException {
        Path m = model(tmp, "ConvLLaVA/ConvLLaVA-ConvNeXt-256");
        copyTree(TINY.resolve("tiny-convllava-convnext"), tmp.resolve("ConvLLaVA-ConvNeXt-256"));
        assertEquals(tmp.resolve("ConvLLaVA-ConvNeXt-256").toAbsolutePath(), find(m, Map.of(), tmp.resolve("home")).orElseThrow());
    }

    @Test
    void towerInsideTheModelFolder(@TempDir Path tmp) throws IOException {
        Path m = model(tmp, "ConvLLaVA-ConvNeXt-256");
        copyTree(TINY.resolve("tiny-convllava-convnext"), m.resolve("ConvLLaVA-ConvNeXt-256"));
        assertEquals(m.resolve("ConvLLaVA-ConvNeXt-256").toAbsolutePath(), find(m, Map.of(), null).orElseThrow());
    }

    @Test
    void towerByAbsolutePath(@TempDir Path tmp) throws IOException {
        Path tower = tmp.resolve("somewhere/else/tower");
        copyTree(TINY.resolve("tiny-convllava-convnext"), tower);
        Path m = model(tmp, tower.toAbsolutePath().toString());
        assertEquals(tower.toAbsolutePath(), find(m, Map.of(), null).orElseThrow());
    }

    @Test
    void towerInTheHuggingFaceCacheFollowsRefsMain(@TempDir Path tmp) throws IOException {
        Path m = model(tmp, "ConvLLaVA/ConvLLaVA-ConvNeXt-256");
        Path repo = tmp.resolve("hf/hub/models--ConvLLaVA--ConvLLaVA-ConvNeXt-256");
        copyTree(TINY.resolve("tiny-convllava-convnext"), repo.resolve("snapshots/0123abcd"));
        Files.createDirectories(repo.resolve("snapshots/ffff0000")); // an incomplete snapshot is skipped
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), "0123abcd\n");
        assertEquals(repo.resolve("snapshots/0123abcd"), find(m, Map.of("HF_HOME", tmp.resolve("hf").toString()), null).orElseThrow());
        // the default cache under the user's home
        Path home = tmp.resolve("home");
        copyTree(TINY.resolve("tiny-convllava-convnext"),
                home.resolve(".cache/huggingface/hub/models--ConvLLaVA--ConvLLaVA-ConvNeXt-256/snapshots/abc123"));
        assertTrue(find(m, Map.of(), home).orElseThrow().endsWith("snapshots/abc123"));
    }

    @Test
    void withoutAFolderTheEncoderInsideTheShardsIsUsedWithItsShapeInferred(@TempDir Path tmp) throws IOException {
        Path m = model(tmp, "tiny-model", "tiny-convllava-convnext");
        assertTrue(find(m, Map.of(), tmp).isEmpty());
        ModelFolder folder = ModelFolder.open(m);
        try (ShardedCheckpoint w = ShardedCheckpoint.open(m)) {
            ConfigException e = assertThrows(ConfigException.class, () -> folder.embeddedTower(w, 0));
            assertTrue(e.getMessage().contains("--canvas"), e.getMessage());
            assertEquals(256, ModelFolder.open(model(tmp, "ConvLLaVA-sft-256", "tiny-convllava-convnext")).embeddedTower(w, 0)
                    .preprocessor().canvasSide(), "the size in the folder name");
            VisionTower t = folder.embeddedTower(w, 256);
            assertEquals(VisionTower.Source.EMBEDDED_IN_MODEL, t.source());
            assertArrayEquals(new int[] {8, 16, 24, 32, 48}, t.config().hiddenSizes());
            assertArrayEquals(new int[] {1, 1, 2, 1, 2}, t.config().depths());
            assertEquals(64, t.config().stride());
            assertTrue(t.description().contains("inside the model shards"), t.description());
        }
        // and the embedded encoder reproduces the reference features
        try (ConvLlava model = ModelLoader.load(LoadOptions.of(m).withDevice(Device.CPU).withCanvasOverride(256), LoadListener.NONE, () -> false)) {
            assertEquals(VisionTower.Source.EMBEDDED_IN_MODEL, model.visionTower().source());
            PreprocessedImage px = model.preprocessor().preprocess(
                    ai.convllava.model.image.ImageDecoder.decode(TINY.resolve("images/wide.png")), CanvasMode.PAD);
            float[] want = Goldens.floats("wide.pad.vision_features");
            float[] got = model.visionFeatures(new PreprocessedImage(px.canvas(), Goldens.floats("wide.pad.pixel_values"), px.geometry()));
            assertEquals(want.length, got.length);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-4 * Math.max(1, Math.abs(want[i])), "vision_features[" + i + "]");
            }
        }
    }

    @Test
    void canvasSideComesFromTheTowerNameWhenEmbedded(@TempDir Path tmp) throws IOException {
        Path m = model(tmp, "ConvLLaVA/ConvLLaVA-ConvNeXt-1536");
        try (ShardedCheckpoint w = ShardedCheckpoint.open(m)) {
            assertEquals(1536, ModelFolder.open(m).embeddedTower(w, 0).preprocessor().canvasSide());
        }
    }

    @Test
    void aTowerOfAnotherModelSizeIsRefused(@TempDir Path tmp) throws IOException {
        Path m = model(tmp, "tower");
        Path tower = tmp.resolve("tower");
        copyTree(TINY.resolve("tiny-convllava-convnext"), tower);
        Files.writeString(tower.resolve("config.json"), Files.readString(tower.resolve("config.json")).replace("48\n", "64\n"));
        ConfigException e = assertThrows(ConfigException.class, () -> ModelFolder.open(m).separateTower(tower, "test"));
        assertTrue(e.getMessage().contains("mm_hidden_size=48"), e.getMessage());
    }

    @Test
    void configErrorsNameFileFieldAndValue(@TempDir Path tmp) throws IOException {
        Path m = model(tmp, "x");
        Path cfg = m.resolve("config.json");
        String ok = Files.readString(cfg);
        String[][] cases = {
            {"\"num_attention_heads\": 4", "\"num_attention_heads\": 5", "hidden_size=32, num_attention_heads=5"},
            {"\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "num_key_value_heads=3"},
            {"\"hidden_size\": 32", "\"hidden_size\": \"big\"", "hidden_size"},
            {"\"mm_projector_type\": \"mlp2x_gelu\"", "\"mm_projector_type\": \"linear\"", "mm_projector_type=linear"},
            {"\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\"}", "rope_scaling"},
            {"\"vocab_size\": 32000", "\"vocab_size\": 0", "vocab_size=0"},
        };
        for (String[] c : cases) {
            Files.writeString(cfg, ok.replace(c[0], c[1]));
            ConfigException e = assertThrows(ConfigException.class, () -> ModelFolder.open(m), c[1]);
            assertTrue(e.getMessage().contains(c[2]) && e.getMessage().contains("config.json"), e.getMessage());
        }
        Files.writeString(cfg, "{ not json");
        assertTrue(assertThrows(ConfigException.class, () -> ModelFolder.open(m)).getMessage().contains("not valid JSON"));
        Files.delete(cfg);
        assertTrue(assertThrows(ConfigException.class, () -> ModelFolder.open(m)).getMessage().contains("no config.json"));
    }
}
