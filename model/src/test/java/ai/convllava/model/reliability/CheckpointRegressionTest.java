package ai.convllava.model.reliability;

import ai.convllava.model.spi.CheckpointFormatException;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.reliability.BoundedRunner.Kind;
import ai.convllava.model.reliability.BoundedRunner.Outcome;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint bugs found by {@link CheckpointFuzzTest}, pinned. */
class CheckpointRegressionTest {

    /** Seed 20240607, case 311: a shard name with a NUL character escaped as InvalidPathException. */
    @Test
    void indexNamingAnImpossibleShardFileIsAFormatError(@TempDir Path dir) throws Exception {
        Path st = CheckpointFuzzTest.TINY_ST;
        for (String shard : List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
            Files.createSymbolicLink(dir.resolve(shard), st.resolve(shard).toAbsolutePath());
        }
        ObjectNode root = (ObjectNode) CheckpointFuzzTest.JSON.readTree(st.resolve("model.safetensors.index.json").toFile());
        ((ObjectNode) root.get("weight_map")).put("lm_head.weight", "a\u0000b.safetensors");
        Path index = Files.write(dir.resolve("model.safetensors.index.json"), CheckpointFuzzTest.JSON.writeValueAsBytes(root));
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(index));
        assertEquals("model.safetensors.index.json: weight_map entry 'lm_head.weight' names shard 'a\\0b.safetensors', which is"
                + " not a valid file name here (Nul character not allowed)", e.getMessage());
    }

    /**
     * A deflated data.pkl whose directory entry claims 250 MB: the reader may allocate what the
     * compressed bytes can inflate to (deflate expands at most ~1032:1), not what the header claims.
     */
    @Test
    void deflatedPickleLyingAboutItsSizeCostsNoMemory(@TempDir Path dir) throws Exception {
        List<CheckpointFuzzTest.ZipEntryBytes> entries =
                CheckpointFuzzTest.zipEntries(CheckpointFuzzTest.TINY_BIN.resolve("pytorch_model-00002-of-00002.bin"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zos = new ZipOutputStream(bytes)) {
            for (CheckpointFuzzTest.ZipEntryBytes e : entries) {
                zos.putNextEntry(new ZipEntry(e.name())); // data.pkl deflated; tensors too, but we fail before those
                zos.write(e.bytes());
                zos.closeEntry();
            }
        }
        byte[] zip = bytes.toByteArray();
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        int patched = 0;
        for (int p = 0; p + 46 < zip.length; p++) {
            if (b.getInt(p) == 0x02014b50) {
                int nameLen = b.getShort(p + 28) & 0xffff;
                String name = new String(zip, p + 46, nameLen, StandardCharsets.UTF_8);
                if (name.endsWith("/data.pkl")) {
                    b.putInt(p + 24, 250_000_000);
                    patched++;
                }
            }
        }
        assertEquals(1, patched);
        Path f = Files.write(dir.resolve("lying.bin"), zip);
        try (BoundedRunner runner = new BoundedRunner("lying-pickle")) {
            Outcome<ShardedCheckpoint> o = runner.run(() -> ShardedCheckpoint.open(f), 10_000, CheckpointFormatException.class);
            assertEquals(Kind.CLEAN_ERROR, o.kind(), String.valueOf(o.error()));
            assertTrue(o.error().getMessage().startsWith("lying.bin: zip entry pytorch_model-00002-of-00002/data.pkl claims 250000000 bytes"),
                    o.error().getMessage());
            System.out.println("[report] lying deflated data.pkl: " + o.error().getMessage() + "; allocated " + o.allocatedBytes());
            assertTrue(o.allocatedBytes() < (16L << 20), "allocated " + o.allocatedBytes() + " bytes for a " + zip.length + "-byte file");
        }
    }
}
