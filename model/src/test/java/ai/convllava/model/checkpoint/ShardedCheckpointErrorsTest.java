package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.CheckpointFormatException;

import ai.convllava.model.spi.MissingWeightException;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Broken folders, indexes and safetensors files: each fails at open or read with a message naming what is wrong. */
class ShardedCheckpointErrorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    static void assertMentions(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message should name '" + p + "': " + e.getMessage());
        }
    }

    private static Path copyFolder(Path dir, String name) throws IOException {
        Path src = TestFiles.tiny(name);
        try (Stream<Path> s = Files.list(src)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Files.copy(p, dir.resolve(p.getFileName()));
            }
        }
        return dir;
    }

    @Test
    void missingShardNamesTheFileAndAKeyItHolds(@TempDir Path dir) throws IOException {
        copyFolder(dir, "tiny-convllava-safetensors");
        Files.delete(dir.resolve(SHARD2));
        ObjectNode index = (ObjectNode) JSON.readTree(dir.resolve("model.safetensors.index.json").toFile());
        String keyInShard2 = null;
        for (var it = index.get("weight_map").fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getValue().asText().equals(SHARD2)) {
                keyInShard2 = e.getKey();
                break;
            }
        }
        var e = assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(dir));
        assertMentions(e, SHARD2, "missing", "'" + keyInShard2 + "'");
    }

    @Test
    void missingShardOfBinIndex(@TempDir Path dir) throws IOException {
        copyFolder(dir, "tiny-convllava");
        Files.delete(dir.resolve("pytorch_model-00001-of-00002.bin"));
        var e = assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(dir));
        assertMentions(e, "pytorch_model-00001-of-00002.bin", "missing", "'lm_head.weight'");
    }

    @Test
    void keyListedInIndexButAbsentFromItsShard(@TempDir Path dir) throws IOException {
        copyFolder(dir, "tiny-convllava-safetensors");
        Path indexFile = dir.resolve("model.safetensors.index.json");
        ObjectNode index = (ObjectNode) JSON.readTree(indexFile.toFile());
        ((ObjectNode) index.get("weight_map")).put("model.layers.7.mlp.up_proj.weight", SHARD1);
        JSON.writeValue(indexFile.toFile(), index);
        var e = assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(dir));
        assertMentions(e, "'model.layers.7.mlp.up_proj.weight'", SHARD1, "does not contain");
    }

    @Test
    void indexMayNotPointOutsideTheFolder(@TempDir Path dir) throws IOException {
        copyFolder(dir, "tiny-convllava-safetensors");
        Path indexFile = dir.resolve("model.safetensors.index.json");
        ObjectNode index = (ObjectNode) JSON.readTree(indexFile.toFile());
        ((ObjectNode) index.get("weight_map")).put("lm_head.weight", "../" + SHARD1);
        JSON.writeValue(indexFile.toFile(), index);
        var e = assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(dir));
        assertMentions(e, "'lm_head.weight'", "../" + SHARD1, "plain file names");
    }

    @Test
    void duplicateKeyAcrossShards(@TempDir Path dir) throws IOException {
        String headerA = "{\"shared.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        String headerB = "{\"shared.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"only.in.b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        TestFiles.write(dir.resolve("a.safetensors"), TestFiles.safetensors(headerA, TestFiles.floatsLE(1, 2)));
        TestFiles.write(dir.resolve("b.safetensors"), TestFiles.safetensors(headerB, TestFiles.floatsLE(3, 4, 5)));
        Files.writeString(dir.resolve("model.safetensors.index.json"),
                "{\"weight_map\":{\"shared.weight\":\"a.safetensors\",\"only.in.b\":\"b.safetensors\"}}");
        var e = assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(dir));
        assertMentions(e, "'shared.weight'", "two shards", "a.safetensors", "b.safetensors");
    }

    @Test
    void shapeMismatchNamesKeyShapesAndFile() {
        try (ShardedCheckpoint c = ShardedCheckpoint.open(TestFiles.tiny("tiny-convllava-safetensors"))) {
            var e = assertThrows(MissingWeightException.class, () -> c.readFloat32("model.norm.weight", 33));
            assertMentions(e, "'model.norm.weight'", "[32]", "[33]", SHARD1);
            var e2 = assertThrows(MissingWeightException.class, () -> c.readFloatArray("lm_head.weight", 32, 32000));
            assertMentions(e2, "'lm_head.weight'", "[32000, 32]", "[32, 32000]", SHARD1);
            assertTrue(c.unusedKeys().contains("model.norm.weight"), "a failed read does not count as use");
        }
    }

    @Test
    void missingKeyNamesKeyExpectedShapeAndIndex() {
        try (ShardedCheckpoint c = ShardedCheckpoint.open(TestFiles.tiny("tiny-convllava"))) {
            var e = assertThrows(MissingWeightException.class, () -> c.readFloat32("model.layers.9.self_attn.q_proj.weight", 32, 32));
            assertMentions(e, "'model.layers.9.self_attn.q_proj.weight'", "[32, 32]", "no shard lists it", "tiny-convllava");
            var e2 = assertThrows(MissingWeightException.class, () -> c.info("nope"));
            assertMentions(e2, "'nope'");
            var e3 = assertThrows(MissingWeightException.class, () -> c.totalBytes(java.util.List.of("lm_head.weight", "gone")));
            assertMentions(e3, "'gone'");
        }
    }

    @Test
    void noCheckpointInFolder(@TempDir Path dir) {
        var e = assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(dir));
        assertMentions(e, dir.toString(), "model.safetensors", "pytorch_model.bin");
    }

    @Test
    void truncatedSafetensors(@TempDir Path dir) throws IOException {
        byte[] full = Files.readAllBytes(TestFiles.tiny("tiny-convllava-safetensors").resolve(SHARD2));
        Path cut = TestFiles.write(dir.resolve(SHARD2), Arrays.copyOf(full, full.length / 2));
        var e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(cut));
        assertMentions(e, SHARD2, "beyond the data section", "data_offsets");

        long headerLen = ByteBuffer.wrap(full, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Path inHeader = TestFiles.write(dir.resolve("in-header.safetensors"), Arrays.copyOf(full, (int) headerLen / 2));
        var e2 = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(inHeader));
        assertMentions(e2, "in-header.safetensors", "header length " + headerLen, "truncated");

        Path tiny = TestFiles.write(dir.resolve("tiny.safetensors"), new byte[] {1, 2, 3});
        var e3 = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(tiny));
        assertMentions(e3, "tiny.safetensors", "too short");
    }

    @Test
    void headerOffsetsOutsideTheFile(@TempDir Path dir) throws IOException {
        Path src = TestFiles.tiny("tiny-convllava-safetensors").resolve(SHARD2);
        byte[] full = Files.readAllBytes(src);
        int headerLen = (int) ByteBuffer.wrap(full, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode header = (ObjectNode) JSON.readTree(Arrays.copyOfRange(full, 8, 8 + headerLen));
        String key = "model.vision_tower.vision_tower.encoder.stages.2.layers.0.dwconv.weight";
        ArrayNode off = (ArrayNode) header.get(key).get("data_offsets");
        off.removeAll();
        off.add(0L).add(9_000_000_000L);
        byte[] data = Arrays.copyOfRange(full, 8 + headerLen, full.length);
        Path bad = TestFiles.write(dir.resolve(SHARD2), TestFiles.safetensors(JSON.writeValueAsString(header), data));
        var e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(bad));
        assertMentions(e, SHARD2 + ": tensor '" + key + "' data_offsets [0, 9000000000] beyond the data section (" + data.length + " bytes)");

        // begin > end
        off.removeAll();
        off.add(48L).add(0L);
        Path reversed = TestFiles.write(dir.resolve("reversed.safetensors"), TestFiles.safetensors(JSON.writeValueAsString(header), data));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(reversed)),
                "reversed.safetensors", "'" + key + "'", "[48, 0]");

        // length disagrees with dtype x shape
        off.removeAll();
        off.add(0L).add(100L);
        Path wrongLen = TestFiles.write(dir.resolve("len.safetensors"), TestFiles.safetensors(JSON.writeValueAsString(header), data));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(wrongLen)),
                "len.safetensors", "'" + key + "'", "needs 2352 bytes", "span 100");
    }

    @Test
    void absurdHeaderLength(@TempDir Path dir) {
        ByteBuffer b = TestFiles.le(64);
        b.putLong(0x7fff_ffff_ffff_0000L);
        Path huge = TestFiles.write(dir.resolve("huge.safetensors"), b.array());
        assertMentions(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(huge)),
                "huge.safetensors", "header length " + 0x7fff_ffff_ffff_0000L, "absurd");
        b.putLong(0, -8L);
        Path negative = TestFiles.write(dir.resolve("negative.safetensors"), b.array());
        assertMentions(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(negative)),
                "negative.safetensors", Long.toUnsignedString(-8L), "absurd");
        b.putLong(0, 200L * 1024 * 1024);
        Path over = TestFiles.write(dir.resolve("over.safetensors"), b.array());
        assertMentions(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(over)),
                "over.safetensors", "209715200", "absurd");
    }

    @Test
    void unsupportedDtypeAndMalformedEntries(@TempDir Path dir) {
        Path f64 = TestFiles.write(dir.resolve("f64.safetensors"), TestFiles.safetensors(
                "{\"ok\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"double.weight\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[4,12]}}", new byte[12]));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(f64)),
                "f64.safetensors", "'double.weight'", "F64");
        Path notJson = TestFiles.write(dir.resolve("notjson.safetensors"), TestFiles.safetensors("{\"a\": [", new byte[0]));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(notJson)),
                "notjson.safetensors", "not valid JSON");
        Path overflow = TestFiles.write(dir.resolve("overflow.safetensors"), TestFiles.safetensors(
                "{\"big\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", new byte[0]));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(overflow)),
                "overflow.safetensors", "'big'", "overflows");
        Path negShape = TestFiles.write(dir.resolve("neg.safetensors"), TestFiles.safetensors(
                "{\"n\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", new byte[0]));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(negShape)),
                "neg.safetensors", "'n'", "shape");
        Path ints = TestFiles.write(dir.resolve("ints.safetensors"), TestFiles.safetensors(
                "{\"__metadata__\":{\"format\":\"pt\"},\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]));
        try (ShardedCheckpoint c = ShardedCheckpoint.open(ints)) {
            assertEquals(8, c.raw("ids").remaining());
            assertMentions(assertThrows(CheckpointFormatException.class, () -> c.readFloat32("ids", 1)),
                    "ints.safetensors", "'ids'", "I64", "not a floating-point");
        }
    }

    @Test
    void widensF16AndF32(@TempDir Path dir) {
        short[] halves = {0x3c00, (short) 0xc000, 0x7bff, 0x0001, (short) 0xfc00, 0x3555};
        byte[] data = new byte[12 + 12];
        System.arraycopy(TestFiles.shortsLE(halves), 0, data, 0, 12);
        System.arraycopy(TestFiles.floatsLE(1.5f, -0f, Float.MAX_VALUE), 0, data, 12, 12);
        Path f = TestFiles.write(dir.resolve("mixed.safetensors"), TestFiles.safetensors(
                "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
                        + "\"f\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,24]}}", data));
        try (ShardedCheckpoint c = ShardedCheckpoint.open(f)) {
            assertArrayEquals(new float[] {1f, -2f, 65504f, 0x1p-24f, Float.NEGATIVE_INFINITY, 0.333251953125f},
                    c.readFloatArray("h", 2, 3));
            ByteBuffer b = c.readFloat32("f", 3);
            assertEquals(1.5f, b.getFloat(0));
            assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(b.getFloat(4)));
            assertEquals(Float.MAX_VALUE, b.getFloat(8));
            assertArrayEquals(new float[] {1.5f, -0f, Float.MAX_VALUE}, c.readFloatArray("f"), "no expected shape: any shape");
            java.nio.FloatBuffer into = java.nio.FloatBuffer.allocate(10);
            into.put(7f);
            c.readInto("h", into, 2, 3);
            assertEquals(7, into.position());
            assertEquals(65504f, into.get(3));
            assertThrows(IllegalArgumentException.class, () -> c.readInto("h", java.nio.FloatBuffer.allocate(5)));
        }
    }
}
