package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.DType;
import ai.convllava.model.spi.TensorInfo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reference checkpoints load, and both formats agree tensor for tensor. */
class CheckpointFixturesTest {
    static final String VISION_PREFIX = "model.vision_tower.vision_tower.";

    @Test
    void binAndSafetensorsFoldersHoldIdenticalTensors() {
        try (ShardedCheckpoint bin = ShardedCheckpoint.open(TestFiles.tiny("tiny-convllava"));
             ShardedCheckpoint st = ShardedCheckpoint.open(TestFiles.tiny("tiny-convllava-safetensors"))) {
            assertTrue(bin.describe().contains("PyTorch zip"), bin.describe());
            assertTrue(st.describe().contains("safetensors"), st.describe());
            assertEquals(2, bin.files().size());
            assertEquals(2, st.files().size());
            assertTrue(bin.keys().size() > 50, "keys: " + bin.keys().size());
            assertEquals(new TreeSet<>(st.keys()), new TreeSet<>(bin.keys()));
            for (String key : st.keys()) {
                TensorInfo a = st.info(key);
                TensorInfo b = bin.info(key);
                assertEquals(DType.BF16, a.dtype(), key);
                assertEquals(a.dtype(), b.dtype(), key);
                assertArrayEquals(a.shape(), b.shape(), key);
                float[] fa = st.readFloatArray(key, a.shape());
                float[] fb = bin.readFloatArray(key, a.shape());
                assertArrayEquals(fa, fb, key);
                assertEquals(st.raw(key), bin.raw(key), key);
            }
            assertEquals(Set.of(), st.unusedKeys());
            assertEquals(Set.of(), bin.unusedKeys());
        }
    }

    @Test
    void valuesMatchNumpyReference() {
        // first values and float64 sum computed with numpy from the safetensors bytes (bits << 16)
        try (ShardedCheckpoint bin = ShardedCheckpoint.open(TestFiles.tiny("tiny-convllava"))) {
            float[] norm = bin.readFloatArray("model.norm.weight", 32);
            assertArrayEquals(new float[] {0.98046875f, 0.9609375f, 0.9140625f, 0.99609375f}, java.util.Arrays.copyOf(norm, 4));
            assertEquals(31.25, sum(norm), 1e-9);
            float[] bias = bin.readFloatArray("model.mm_projector.0.bias", 32);
            assertArrayEquals(new float[] {-0.018798828125f, 0.03857421875f, 0.0235595703125f, -0.0294189453125f},
                    java.util.Arrays.copyOf(bias, 4));
            ByteBuffer lm = bin.readFloat32("lm_head.weight", 32000, 32);
            assertTrue(lm.isDirect());
            assertEquals(ByteOrder.LITTLE_ENDIAN, lm.order());
            assertEquals(0, lm.position());
            assertEquals(32000 * 32 * 4, lm.limit());
            assertEquals(0.1103515625f, lm.getFloat(0));
            assertEquals(-0.314453125f, lm.getFloat(4));
            double s = 0;
            for (int i = 0; i < 32000 * 32; i++) {
                s += lm.getFloat(4 * i);
            }
            assertEquals(-388.32176109589636, s, 1e-6);
        }
    }

    @Test
    void visionTowerRepoEqualsThePrefixedTensorsOfTheMainCheckpoint() {
        Path tower = TestFiles.tiny("tiny-convllava-convnext").resolve("pytorch_model.bin");
        try (ShardedCheckpoint vision = ShardedCheckpoint.open(tower);
             ShardedCheckpoint main = ShardedCheckpoint.open(TestFiles.tiny("tiny-convllava"))) {
            assertTrue(vision.keys().size() > 20, "vision keys: " + vision.keys().size());
            // the vision repo drops the final layernorm (ConvLLaVA uses hidden_states[-1] before it)
            Set<String> onlyInMain = new TreeSet<>();
            main.keys().stream().filter(k -> k.startsWith(VISION_PREFIX))
                    .map(k -> k.substring(VISION_PREFIX.length())).filter(k -> !vision.contains(k)).forEach(onlyInMain::add);
            assertEquals(Set.of("layernorm.bias", "layernorm.weight"), onlyInMain);
            for (String key : vision.keys()) {
                assertFalse(key.startsWith("model."), key);
                TensorInfo v = vision.info(key);
                assertArrayEquals(main.readFloatArray(VISION_PREFIX + key, v.shape()), vision.readFloatArray(key, v.shape()), key);
            }
            assertTrue(vision.unusedKeys().isEmpty());
        }
    }

    @Test
    void tracksUnusedKeysAndReportsSizes() {
        Path folder = TestFiles.tiny("tiny-convllava-safetensors");
        try (ShardedCheckpoint c = ShardedCheckpoint.open(folder)) {
            int n = c.keys().size();
            assertEquals(n, c.unusedKeys().size());
            c.readFloat32("model.norm.weight", 32);
            assertEquals(n - 1, c.unusedKeys().size());
            assertFalse(c.unusedKeys().contains("model.norm.weight"));
            ByteBuffer raw = c.raw("lm_head.weight");
            assertTrue(raw.isReadOnly());
            assertEquals(ByteOrder.LITTLE_ENDIAN, raw.order());
            assertEquals(32000L * 32 * 2, raw.remaining());
            assertFalse(c.unusedKeys().contains("lm_head.weight"));
            // the index's metadata.total_size
            assertEquals(4308544L, c.totalBytes(c.keys()));
            assertEquals(64L, c.totalBytes(Set.of("model.norm.weight")));
            TensorInfo info = c.info("model.norm.weight");
            assertEquals("model-00001-of-00002.safetensors", info.file().getFileName().toString());
        }
    }

    @Test
    void opensSingleFilesAndPrefersSafetensorsInAFolder(@TempDir Path dir) throws IOException {
        Path bin = TestFiles.tiny("tiny-convllava").resolve("pytorch_model-00002-of-00002.bin");
        Path st = TestFiles.tiny("tiny-convllava-safetensors").resolve("model-00002-of-00002.safetensors");
        try (ShardedCheckpoint a = ShardedCheckpoint.open(bin); ShardedCheckpoint b = ShardedCheckpoint.open(st)) {
            assertEquals(new TreeSet<>(a.keys()), new TreeSet<>(b.keys()));
            assertTrue(a.describe().contains("pytorch_model-00002-of-00002.bin"), a.describe());
        }
        Files.copy(bin, dir.resolve("pytorch_model.bin"));
        try (ShardedCheckpoint c = ShardedCheckpoint.open(dir)) {
            assertTrue(c.describe().contains("pytorch_model.bin"), c.describe());
        }
        Files.copy(st, dir.resolve("model.safetensors"));
        try (ShardedCheckpoint c = ShardedCheckpoint.open(dir)) {
            assertTrue(c.describe().contains("model.safetensors") && c.describe().contains("safetensors"), c.describe());
        }
        try (TorchZipFile z = TorchZipFile.open(bin)) {
            assertEquals("pytorch_model-00002-of-00002", z.prefix());
        }
        try (SafetensorsFile s = SafetensorsFile.open(st)) {
            assertEquals("pt", s.metadata().get("format"));
        }
    }

    @Test
    void closedCheckpointRefusesReads() {
        ShardedCheckpoint c = ShardedCheckpoint.open(TestFiles.tiny("tiny-convllava"));
        c.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.readFloat32("model.norm.weight", 32));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    private static double sum(float[] v) {
        double s = 0;
        for (float f : v) {
            s += f;
        }
        return s;
    }
}
