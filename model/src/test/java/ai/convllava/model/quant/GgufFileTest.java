package ai.convllava.model.quant;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A written GGUF reads back; every kind of broken file is refused with a message naming the problem. */
class GgufFileTest {
    @TempDir
    Path dir;

    private static QuantizedMatrix matrix(QuantFormat f, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        return QuantizedMatrix.quantize(f, w, rows, cols);
    }

    private Path write(String name, QuantizedMatrix a, QuantizedMatrix b) throws IOException {
        Path p = dir.resolve(name);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("general.architecture", "convllava");
        meta.put("convllava.quant.format", "mixed");
        meta.put("convllava.source.files", List.of("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"));
        meta.put("convllava.source.bytes", 12345L);
        meta.put("convllava.test.ratio", 0.25);
        meta.put("convllava.test.flag", true);
        try (GgufWriter w = new GgufWriter(p, meta, List.of(new GgufWriter.Entry("a.weight", new long[] {a.rows(), a.cols()}, a.format().ggmlType),
                new GgufWriter.Entry("b.weight", new long[] {b.rows(), b.cols()}, b.format().ggmlType)))) {
            w.write("a.weight", a.ggufBlocks());
            w.write("b.weight", b.ggufBlocks());
            w.finish();
        }
        return p;
    }

    @Test
    void roundTrip() throws IOException {
        QuantizedMatrix a = matrix(QuantFormat.Q4_K, 3, 512, 1);
        QuantizedMatrix b = matrix(QuantFormat.Q8_0, 5, 96, 2);
        Path p = write("m.gguf", a, b);
        assertFalse(Files.exists(dir.resolve("m.gguf.partial")));
        try (GgufFile g = GgufFile.open(p)) {
            assertEquals("convllava", g.string("general.architecture"));
            assertEquals(List.of("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin"), g.metadata().get("convllava.source.files"));
            assertEquals(12345L, g.metadata().get("convllava.source.bytes"));
            assertEquals(0.25, g.metadata().get("convllava.test.ratio"));
            assertEquals(true, g.metadata().get("convllava.test.flag"));
            assertEquals(a, g.matrix("a.weight", QuantFormat.Q4_K, 3, 512));
            assertEquals(b, g.matrix("b.weight", QuantFormat.Q8_0, 5, 96));
            assertNull(g.matrix("c.weight", QuantFormat.Q8_0, 5, 96));
            assertArrayEquals(new long[] {3, 512}, g.tensors().get("a.weight").shape());
            assertEquals(0, g.tensors().get("a.weight").offset() % 32, "aligned");
            GgufException e = assertThrows(GgufException.class, () -> g.matrix("a.weight", QuantFormat.Q8_0, 3, 512));
            assertEquals("m.gguf: tensor 'a.weight' is Q4_K [3, 512] but the model needs Q8_0 [3, 512]", e.getMessage());
        }
    }

    @Test
    void aCancelledOrUnfinishedWriteLeavesNoFile() throws IOException {
        QuantizedMatrix a = matrix(QuantFormat.Q8_0, 2, 64, 3);
        Path p = dir.resolve("x.gguf");
        try (GgufWriter w = new GgufWriter(p, Map.of(), List.of(new GgufWriter.Entry("a", new long[] {2, 64}, a.format().ggmlType),
                new GgufWriter.Entry("b", new long[] {2, 64}, a.format().ggmlType)))) {
            w.write("a", a.ggufBlocks());
            assertThrows(CancellationException.class, () -> w.checkCancelled(() -> true));
        }
        assertFalse(Files.exists(p));
        assertFalse(Files.exists(dir.resolve("x.gguf.partial")));
        try (GgufWriter w = new GgufWriter(p, Map.of(), List.of(new GgufWriter.Entry("a", new long[] {2, 64}, a.format().ggmlType)))) {
            w.write("a", a.ggufBlocks()); // closed without finish(): as if killed
        }
        assertFalse(Files.exists(p));
    }

    private static GgufException broken(Path p) {
        return assertThrows(GgufException.class, () -> GgufFile.open(p).close());
    }

    @Test
    void truncatedFilesAreRefusedAtEveryLength() throws IOException {
        Path good = write("good.gguf", matrix(QuantFormat.Q4_K, 2, 256, 4), matrix(QuantFormat.Q8_0, 2, 32, 5));
        byte[] all = Files.readAllBytes(good);
        long end;
        try (GgufFile g = GgufFile.open(good)) { // the last tensor's last byte (the padding after it holds nothing)
            end = g.tensors().values().stream().mapToLong(t -> t.offset() + t.bytes()).max().orElseThrow();
        }
        for (int len = 0; len < end; len += Math.max(1, len / 7)) {
            Path cut = dir.resolve("cut.gguf");
            Files.write(cut, Arrays.copyOf(all, len));
            GgufException e = broken(cut);
            assertTrue(e.getMessage().contains("cut.gguf"), e.getMessage());
        }
        Path cut = dir.resolve("cut.gguf");
        Files.write(cut, Arrays.copyOf(all, (int) end - 1));
        assertTrue(broken(cut).getMessage().matches("cut\\.gguf is truncated: tensor 'b.weight' needs bytes \\d+ to \\d+ but the file has \\d+"),
                broken(cut).getMessage());
    }

    /** The file with the little-endian bytes at {@code at} replaced. */
    private Path patched(Path good, int at, byte[] bytes) throws IOException {
        byte[] all = Files.readAllBytes(good);
        System.arraycopy(bytes, 0, all, at, bytes.length);
        Path p = dir.resolve("bad.gguf");
        Files.write(p, all);
        return p;
    }

    private static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    private static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    /** Where in the header the first tensor's info starts (after the metadata). */
    private static int firstTensorInfo(Path p) throws IOException {
        byte[] all = Files.readAllBytes(p);
        byte[] name = "a.weight".getBytes();
        for (int i = 0; i < all.length - name.length; i++) {
            if (Arrays.equals(Arrays.copyOfRange(all, i, i + name.length), name)) {
                return i - 8;
            }
        }
        throw new AssertionError();
    }

    @Test
    void liesInTheHeaderAreRefused() throws IOException {
        Path good = write("good.gguf", matrix(QuantFormat.Q4_K, 2, 256, 6), matrix(QuantFormat.Q8_0, 2, 32, 7));
        assertEquals("bad.gguf is not a GGUF file (it starts with 0x46554746)", broken(patched(good, 0, le32(0x46554746))).getMessage());
        assertEquals("bad.gguf is GGUF version 2; version 3 is read", broken(patched(good, 4, le32(2))).getMessage());
        assertTrue(broken(patched(good, 8, le64(1L << 40))).getMessage().contains("cannot fit in"));
        assertTrue(broken(patched(good, 16, le64(-1))).getMessage().contains("cannot fit in"));
        // the first metadata key claims to be longer than the file
        assertTrue(broken(patched(good, 24, le64(1L << 50))).getMessage().contains("beyond the file"), broken(patched(good, 24, le64(1L << 50))).getMessage());
        int t = firstTensorInfo(good);
        int dims = t + 8 + "a.weight".length();
        assertEquals("bad.gguf: tensor 'a.weight' has 9 dimensions; 1 to 4 are allowed", broken(patched(good, dims, le32(9))).getMessage());
        int type = dims + 4 + 16;
        assertEquals("bad.gguf: tensor 'a.weight' has ggml type 99, which this app does not read (F32 0, F16 1, Q8_0 8, Q4_K 12)",
                broken(patched(good, type, le32(99))).getMessage());
        GgufException rows = broken(patched(good, dims + 4, le64(100))); // ne[0] = 100: not a whole number of Q4_K blocks
        assertEquals("bad.gguf: tensor 'a.weight' rows of 100 are not a whole number of Q4_K blocks of 256", rows.getMessage());
        GgufException off = broken(patched(good, type + 4, le64(3)));
        assertEquals("bad.gguf: tensor 'a.weight' starts at 3, not a multiple of the alignment 32", off.getMessage());
        GgufException far = broken(patched(good, type + 4, le64(1L << 40)));
        assertTrue(far.getMessage().startsWith("bad.gguf is truncated: tensor 'a.weight' needs bytes"), far.getMessage());
        // the second tensor renamed to the first
        byte[] all = Files.readAllBytes(good);
        String s = new String(all, java.nio.charset.StandardCharsets.ISO_8859_1);
        int second = s.indexOf("b.weight");
        GgufException dup = broken(patched(good, second, "a.weight".getBytes()));
        assertEquals("bad.gguf: tensor 'a.weight' appears twice", dup.getMessage());
    }

    @Test
    void aMissingFileIsNamed() {
        assertEquals(dir.resolve("none.gguf") + " does not exist", broken(dir.resolve("none.gguf")).getMessage());
    }
}
