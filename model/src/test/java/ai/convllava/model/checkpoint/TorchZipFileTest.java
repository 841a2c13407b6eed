package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.CheckpointFormatException;

import ai.convllava.model.spi.DType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipFile;

import static ai.convllava.model.checkpoint.ShardedCheckpointErrorsTest.assertMentions;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The torch zip reader: hand-built archives (ZIP64, hostile pickles) and corrupted copies of the fixtures. */
class TorchZipFileTest {
    private static final String SHARD2 = "pytorch_model-00002-of-00002.bin";

    private static Path fixtureShard() {
        return TestFiles.tiny("tiny-convllava").resolve(SHARD2);
    }

    /** A small state dict: an F32 matrix, a BF16 view at storage offset 1, and a tensor sharing the F32 storage. */
    private static byte[] sampleArchive(boolean zip64, int storageMethod) {
        byte[] pkl = TestFiles.stateDictPickle(List.of(
                TestFiles.PickledTensor.contiguous("w", "FloatStorage", "0", 6, 0, 2, 3),
                TestFiles.PickledTensor.contiguous("b", "BFloat16Storage", "1", 4, 1, 2),
                TestFiles.PickledTensor.contiguous("w.row1", "FloatStorage", "0", 6, 3, 3)));
        Map<String, byte[]> storages = new LinkedHashMap<>();
        storages.put("0", TestFiles.floatsLE(1, 2, 3, 4, 5, 6));
        // bf16 bits of 9, 1.5, -2, 0.25
        storages.put("1", TestFiles.shortsLE((short) 0x4110, (short) 0x3fc0, (short) 0xc000, (short) 0x3e80));
        return TestFiles.torchArchive("archive", pkl, storages, zip64, storageMethod);
    }

    private static void assertSample(Path file) {
        try (TorchZipFile z = TorchZipFile.open(file)) {
            assertEquals("archive", z.prefix());
            assertEquals(List.of("w", "b", "w.row1"), new ArrayList<>(z.tensors().keySet()));
        }
        try (ShardedCheckpoint c = ShardedCheckpoint.open(file)) {
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.readFloatArray("w", 2, 3));
            assertArrayEquals(new float[] {1.5f, -2f}, c.readFloatArray("b", 2));
            assertArrayEquals(new float[] {4, 5, 6}, c.readFloatArray("w.row1", 3));
            assertEquals(DType.BF16, c.info("b").dtype());
        }
    }

    @Test
    void handBuiltZip64ArchiveParses(@TempDir Path dir) throws IOException {
        byte[] bytes = sampleArchive(true, 0);
        // it really is ZIP64: locator and ZIP64 EOCD before the classic EOCD, whose fields are all 0xFFFF..
        ByteBuffer tail = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(ZipDirectory.EOCD_SIG, tail.getInt(bytes.length - 22));
        assertEquals(-1, tail.getInt(bytes.length - 22 + 16), "EOCD central directory offset is 0xFFFFFFFF");
        assertEquals(ZipDirectory.ZIP64_LOCATOR_SIG, tail.getInt(bytes.length - 42));
        Path file = TestFiles.write(dir.resolve("zip64.bin"), bytes);
        try (MappedFile f = MappedFile.open(file)) {
            ZipDirectory zd = ZipDirectory.read(f);
            assertTrue(zd.isZip64());
            assertEquals(5, zd.entries().size());
            ZipDirectory.Entry data0 = zd.entries().get("archive/data/0");
            assertEquals(24, data0.compressedSize());
            // data offset skips the local ZIP64 extra and the padding field that the central entry lacks
            long offset = zd.dataOffset(data0);
            assertEquals(1f, ByteBuffer.wrap(bytes, (int) offset, 4).order(ByteOrder.LITTLE_ENDIAN).getFloat());
        }
        assertSample(file);
        // the same state dict in a classic (non-ZIP64) archive, which java.util.zip can also read
        Path plain = TestFiles.write(dir.resolve("plain.bin"), sampleArchive(false, 0));
        assertSample(plain);
        try (ZipFile jz = new ZipFile(plain.toFile())) {
            assertEquals(5, jz.size());
        }
    }

    @Test
    void fixtureIsZip64WithAlignedStorages() {
        // torch (miniz) always writes a ZIP64 end record; storages are 64-byte aligned via the local extra field
        try (MappedFile f = MappedFile.open(fixtureShard())) {
            ZipDirectory zd = ZipDirectory.read(f);
            assertTrue(zd.isZip64());
            ZipDirectory.Entry e = zd.entries().get("pytorch_model-00002-of-00002/data/1");
            assertEquals(0, zd.dataOffset(e) % 64);
        }
    }

    @Test
    void compressedDataEntryIsRefused(@TempDir Path dir) throws IOException {
        Path bad = TestFiles.write(dir.resolve("deflated.bin"), sampleArchive(false, 8));
        var e = assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(bad));
        assertMentions(e, "deflated.bin", "archive/data/0", "'w'", "is compressed (method 8)", "tensors must be stored");

        // the fixture shard re-zipped with deflated data entries (data.pkl stays readable)
        List<TestFiles.ZipEntrySpec> entries = new ArrayList<>();
        try (ZipFile jz = new ZipFile(fixtureShard().toFile())) {
            for (var it = jz.entries().asIterator(); it.hasNext(); ) {
                var ze = it.next();
                byte[] data = jz.getInputStream(ze).readAllBytes();
                entries.add(new TestFiles.ZipEntrySpec(ze.getName(), data, ze.getName().contains("/data/") ? 8 : 0, 0));
            }
        }
        Path rezipped = TestFiles.write(dir.resolve(SHARD2), TestFiles.zip(entries, false));
        var e2 = assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(rezipped));
        assertMentions(e2, SHARD2, "is compressed (method 8)");
    }

    @Test
    void deflatedPickleIsInflated(@TempDir Path dir) {
        byte[] pkl = TestFiles.stateDictPickle(List.of(TestFiles.PickledTensor.contiguous("x", "HalfStorage", "0", 2, 0, 2)));
        byte[] zip = TestFiles.zip(List.of(
                new TestFiles.ZipEntrySpec("m/data.pkl", pkl, 8, 0),
                TestFiles.ZipEntrySpec.stored("m/data/0", TestFiles.shortsLE((short) 0x3c00, (short) 0x7c00))), false);
        Path f = TestFiles.write(dir.resolve("x.bin"), zip);
        try (ShardedCheckpoint c = ShardedCheckpoint.open(f)) {
            assertArrayEquals(new float[] {1f, Float.POSITIVE_INFINITY}, c.readFloatArray("x", 2));
        }
    }

    @Test
    void orderedDictStateDictWithMetadataAndParameters(@TempDir Path dir) {
        // what torch.save(model.state_dict()) writes: an OrderedDict whose _metadata attribute arrives via BUILD;
        // one entry wrapped in _rebuild_parameter (torch.save(dict(model.named_parameters())))
        TestFiles.PickledTensor w = TestFiles.PickledTensor.contiguous("w", "FloatStorage", "0", 2, 0, 2);
        byte[] pkl = new TestFiles.Pickle().proto(2).global("collections", "OrderedDict").op(')').op('R')
                .op('(').str("w").tensor(w)
                .str("p").global("torch._utils", "_rebuild_parameter").op('(').tensor(w).op(0x88)
                .global("collections", "OrderedDict").op(')').op('R').op('t').op('R')
                .str("step").op('K').op(3)
                .op('u')
                .op('}').str("_metadata").global("collections", "OrderedDict").op(')').op('R')
                .str("").op('}').str("version").op('K').op(1).op('s').op('s').op('s').op('b').op('.').bytes();
        Path f = TestFiles.write(dir.resolve("state.pt"), TestFiles.torchArchive("state", pkl, Map.of("0", TestFiles.floatsLE(0.5f, -1f)), false, 0));
        try (ShardedCheckpoint c = ShardedCheckpoint.open(f)) {
            assertEquals(java.util.Set.of("w", "p"), c.keys(), "the integer 'step' is skipped");
            assertArrayEquals(new float[] {0.5f, -1f}, c.readFloatArray("w", 2));
            assertArrayEquals(new float[] {0.5f, -1f}, c.readFloatArray("p", 2));
        }
    }

    @Test
    void truncatedBin(@TempDir Path dir) throws IOException {
        byte[] full = Files.readAllBytes(fixtureShard());
        Path cut = TestFiles.write(dir.resolve(SHARD2), Arrays.copyOf(full, full.length / 2));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(cut)),
                SHARD2, "end-of-central-directory", "truncated");
        // cut inside the central directory: the end records survive (copied back) but point past the data
        byte[] lost = new byte[full.length - 2000];
        System.arraycopy(full, 0, lost, 0, lost.length - 98);
        System.arraycopy(full, full.length - 98, lost, lost.length - 98, 98);
        Path missingMiddle = TestFiles.write(dir.resolve("middle.bin"), lost);
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(missingMiddle)),
                "middle.bin", "outside the file");
        Path empty = TestFiles.write(dir.resolve("empty.bin"), new byte[0]);
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(empty)), "empty.bin", "too short");
    }

    @Test
    void brokenZipDirectory(@TempDir Path dir) throws IOException {
        byte[] full = Files.readAllBytes(fixtureShard());
        int cd = indexOf(full, new byte[] {'P', 'K', 1, 2});
        byte[] broken = full.clone();
        broken[cd + 60 * 0 + 3] = 9; // first central entry signature destroyed
        Path f = TestFiles.write(dir.resolve(SHARD2), broken);
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(f)),
                SHARD2, "broken zip central directory at offset " + cd);

        // a local header offset that points at garbage
        byte[] badLocal = sampleArchive(false, 0);
        int cd2 = indexOf(badLocal, new byte[] {'P', 'K', 1, 2});
        ByteBuffer.wrap(badLocal).order(ByteOrder.LITTLE_ENDIAN).putInt(cd2 + 42, 7);
        Path g = TestFiles.write(dir.resolve("badlocal.bin"), badLocal);
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(g)),
                "badlocal.bin", "archive/data.pkl", "no local header at offset 7");

        // a ZIP64 entry whose extra field lies about the size
        byte[] z64 = sampleArchive(true, 0);
        int cd3 = indexOf(z64, new byte[] {'P', 'K', 1, 2});
        int nameLen = ByteBuffer.wrap(z64).order(ByteOrder.LITTLE_ENDIAN).getShort(cd3 + 28);
        ByteBuffer.wrap(z64).order(ByteOrder.LITTLE_ENDIAN).putLong(cd3 + 46 + nameLen + 4 + 8, 1L << 40);
        Path h = TestFiles.write(dir.resolve("z64.bin"), z64);
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(h)),
                "z64.bin", "archive/data.pkl", "outside");

        Path notZip = TestFiles.write(dir.resolve("text.bin"), "hello, this is not a zip archive at all".getBytes(StandardCharsets.UTF_8));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(notZip)),
                "text.bin", "no zip end-of-central-directory");
    }

    @Test
    void osSystemPickleIsRefusedAndNothingRuns(@TempDir Path dir) {
        Path marker = dir.resolve("pwned-os");
        byte[] pkl = new TestFiles.Pickle().proto(2).global("os", "system").str("touch " + marker).op(0x85).op('R').op('.').bytes();
        Path f = TestFiles.write(dir.resolve("evil-os.bin"), TestFiles.torchArchive("archive", pkl, Map.of(), false, 0));
        var e = assertThrows(CheckpointFormatException.class, () -> ShardedCheckpoint.open(f));
        assertMentions(e, "evil-os.bin", "os.system", "not allowed");
        assertFalse(Files.exists(marker));
    }

    @Test
    void builtinsEvalPickleIsRefusedAndNothingRuns(@TempDir Path dir) {
        Path marker = dir.resolve("pwned-eval");
        // protocol 4 with FRAME, MEMOIZE and STACK_GLOBAL, as pickle.dumps writes it
        TestFiles.Pickle body = new TestFiles.Pickle().shortStr("builtins").op(0x94).shortStr("eval").op(0x94).op(0x93).op(0x94)
                .str("__import__('os').system('touch " + marker + "')").op(0x94).op(0x85).op(0x94).op('R').op(0x94).op('.');
        byte[] b = body.bytes();
        byte[] pkl = new TestFiles.Pickle().proto(4).op(0x95).raw(TestFiles.le(8).putLong(b.length).array()).raw(b).bytes();
        Path f = TestFiles.write(dir.resolve("evil-eval.bin"), TestFiles.torchArchive("archive", pkl, Map.of(), false, 0));
        var e = assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(f));
        assertMentions(e, "evil-eval.bin", "builtins.eval", "not allowed");
        assertFalse(Files.exists(marker));
    }

    @Test
    void otherHostileGlobalsAreRefused(@TempDir Path dir) {
        for (String[] g : new String[][] {{"posix", "system"}, {"subprocess", "Popen"}, {"torch", "load"}, {"collections", "defaultdict"}}) {
            byte[] pkl = new TestFiles.Pickle().proto(2).global(g[0], g[1]).op(')').op('R').op('.').bytes();
            Path f = TestFiles.write(dir.resolve(g[1] + ".bin"), TestFiles.torchArchive("archive", pkl, Map.of(), false, 0));
            assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(f)),
                    g[1] + ".bin", "'" + g[0] + "." + g[1] + "'");
        }
    }

    @Test
    void lyingPickleLengthsAreBounded(@TempDir Path dir) {
        byte[] pkl = new TestFiles.Pickle().proto(2).op('X').raw(TestFiles.le(4).putInt(-16).array()).raw(new byte[] {'a'}).bytes();
        Path f = TestFiles.write(dir.resolve("lying.bin"), TestFiles.torchArchive("archive", pkl, Map.of(), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(f)),
                "lying.bin", "archive/data.pkl", "string of 4294967280 bytes", "runs past the end");
        byte[] noStop = new TestFiles.Pickle().proto(2).op('}').bytes();
        Path g = TestFiles.write(dir.resolve("nostop.bin"), TestFiles.torchArchive("archive", noStop, Map.of(), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(g)), "nostop.bin", "STOP");
        byte[] badMemo = new TestFiles.Pickle().proto(2).op('j').raw(TestFiles.le(4).putInt(123456).array()).op('.').bytes();
        Path h = TestFiles.write(dir.resolve("memo.bin"), TestFiles.torchArchive("archive", badMemo, Map.of(), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(h)), "memo.bin", "memo 123456");
        byte[] opcode = new TestFiles.Pickle().proto(2).op('i').op('.').bytes(); // INST: not supported
        Path k = TestFiles.write(dir.resolve("inst.bin"), TestFiles.torchArchive("archive", opcode, Map.of(), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(k)), "inst.bin", "opcode 0x69");
    }

    @Test
    void nonContiguousAndOutOfStorageTensorsAreRefused(@TempDir Path dir) {
        byte[] transposed = TestFiles.stateDictPickle(List.of(
                new TestFiles.PickledTensor("t.weight", "FloatStorage", "0", 6, 0, new long[] {2, 3}, new long[] {1, 2})));
        Path f = TestFiles.write(dir.resolve("strided.bin"),
                TestFiles.torchArchive("archive", transposed, Map.of("0", new byte[24]), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(f)),
                "strided.bin", "'t.weight'", "not contiguous", "[1, 2]");

        byte[] past = TestFiles.stateDictPickle(List.of(TestFiles.PickledTensor.contiguous("p", "FloatStorage", "0", 6, 4, 3)));
        Path g = TestFiles.write(dir.resolve("past.bin"), TestFiles.torchArchive("archive", past, Map.of("0", new byte[24]), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(g)),
                "past.bin", "'p'", "runs past its storage");

        byte[] shortStorage = TestFiles.stateDictPickle(List.of(TestFiles.PickledTensor.contiguous("s", "FloatStorage", "0", 6, 0, 6)));
        Path h = TestFiles.write(dir.resolve("short.bin"), TestFiles.torchArchive("archive", shortStorage, Map.of("0", new byte[20]), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(h)),
                "short.bin", "'s'", "holds 20 bytes", "need 24");

        byte[] noEntry = TestFiles.stateDictPickle(List.of(TestFiles.PickledTensor.contiguous("m", "FloatStorage", "7", 1, 0, 1)));
        Path k = TestFiles.write(dir.resolve("noentry.bin"), TestFiles.torchArchive("archive", noEntry, Map.of(), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(k)),
                "noentry.bin", "'m'", "archive/data/7");

        byte[] f64 = TestFiles.stateDictPickle(List.of(TestFiles.PickledTensor.contiguous("d", "DoubleStorage", "0", 1, 0, 1)));
        Path m = TestFiles.write(dir.resolve("f64.bin"), TestFiles.torchArchive("archive", f64, Map.of("0", new byte[8]), false, 0));
        assertMentions(assertThrows(CheckpointFormatException.class, () -> TorchZipFile.open(m)),
                "f64.bin", "float64", "torch.DoubleStorage");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
