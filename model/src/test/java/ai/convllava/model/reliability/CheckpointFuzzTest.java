package ai.convllava.model.reliability;

import ai.convllava.model.Goldens;
import ai.convllava.model.spi.CheckpointFormatException;
import ai.convllava.model.spi.MissingWeightException;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.spi.TensorInfo;
import ai.convllava.model.reliability.BoundedRunner.Kind;
import ai.convllava.model.reliability.BoundedRunner.Outcome;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded fuzzing of the checkpoint readers on mutations of the tiny fixtures, written to a temp dir:
 * safetensors headers (lying header length, damaged or rewritten JSON, lying offsets / shapes /
 * dtypes), the {@code data.pkl} pickle of a torch zip shard (bit flips, truncation, inserted
 * opcodes, lying string lengths, forbidden globals), the zip itself, and the shard index JSON. Each
 * case opens the checkpoint and reads every tensor as float32: it must load cleanly or fail with
 * {@link CheckpointFormatException} / {@link MissingWeightException}, within a deadline and within an
 * allocation bound proportional to the files' size (a lying length must not buy memory).
 */
@Tag("reliability")
class CheckpointFuzzTest {
    static final long SEED = ReliabilityReport.longProperty("convllava.fuzz.seed", 20240607L);
    static final long CASES = ReliabilityReport.longProperty("convllava.fuzz.checkpointCases", 1500);
    static final long CASE_TIMEOUT_MS = 10_000;
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path TINY_ST = Goldens.TINY.resolve("tiny-convllava-safetensors");
    static final Path TINY_BIN = Goldens.TINY.resolve("tiny-convllava");

    enum Target { SAFETENSORS, PICKLE, ZIP, INDEX }

    /** Globals a hostile pickle would name; none is on the allow-list. */
    static final String[][] FORBIDDEN = {
        {"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"builtins", "exec"}, {"__builtin__", "getattr"},
        {"subprocess", "Popen"}, {"torch", "load"}, {"torch._utils", "_rebuild_qtensor"}, {"numpy.core.multiarray", "_reconstruct"},
        {"collections", "defaultdict"}, {"torch.nn.modules.linear", "Linear"}, {"runpy", "_run_code"}, {"webbrowser", "open"},
    };

    /** Opens the checkpoint and reads every floating-point tensor, as a load does; returns the tensor count. */
    static int openAndReadAll(Path fileOrIndex) {
        try (ShardedCheckpoint c = ShardedCheckpoint.open(fileOrIndex)) {
            int n = 0;
            for (String key : c.keys()) {
                TensorInfo info = c.info(key);
                if (info.dtype().isFloating()) {
                    float[] v = c.readFloatArray(key, info.shape());
                    if (v.length != info.numel()) {
                        throw new AssertionError(key + ": " + v.length + " values for " + info.shapeString());
                    }
                    n++;
                }
            }
            return n;
        }
    }

    // ---- torch zip: entries of the small shard, rebuilt with a different data.pkl

    record ZipEntryBytes(String name, byte[] bytes) {
    }

    static List<ZipEntryBytes> zipEntries(Path zip) throws IOException {
        List<ZipEntryBytes> out = new ArrayList<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            for (ZipEntry e : Collections.list(z.entries())) {
                out.add(new ZipEntryBytes(e.getName(), z.getInputStream(e).readAllBytes()));
            }
        }
        return out;
    }

    /** A torch.save-like zip (every entry stored) with data.pkl replaced by {@code pickle}. */
    static byte[] torchZip(List<ZipEntryBytes> entries, byte[] pickle) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zos = new ZipOutputStream(bytes)) {
            for (ZipEntryBytes e : entries) {
                byte[] data = e.name().endsWith("/data.pkl") ? pickle : e.bytes();
                ZipEntry z = new ZipEntry(e.name());
                z.setMethod(ZipEntry.STORED);
                z.setSize(data.length);
                z.setCompressedSize(data.length);
                CRC32 crc = new CRC32();
                crc.update(data);
                z.setCrc(crc.getValue());
                zos.putNextEntry(z);
                zos.write(data);
                zos.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    static byte[] pickleOf(List<ZipEntryBytes> entries) {
        return entries.stream().filter(e -> e.name().endsWith("/data.pkl")).findFirst().orElseThrow().bytes();
    }

    // ---- mutations

    static final long[] LIES = {0, 1, 7, 8, 255, 0x7FFF, 0xFFFF, 0x7FFFFFFFL, 0xFFFFFFFFL, 0x100000000L, Long.MAX_VALUE, -1, Long.MIN_VALUE,
        1L << 40, 100L << 20};

    static long lie(Random rnd, long original) {
        return switch (rnd.nextInt(3)) {
            case 0 -> LIES[rnd.nextInt(LIES.length)];
            case 1 -> original + rnd.nextInt(17) - 8;
            default -> original * (2 + rnd.nextInt(1000));
        };
    }

    static byte[] flipBits(byte[] b, int from, int to, Random rnd) {
        byte[] o = b.clone();
        int n = 1 + rnd.nextInt(6);
        for (int i = 0; i < n && to > from; i++) {
            o[from + rnd.nextInt(to - from)] ^= (byte) (1 << rnd.nextInt(8));
        }
        return o;
    }

    static byte[] overwrite(byte[] b, int from, int to, Random rnd) {
        byte[] o = b.clone();
        int p = from + rnd.nextInt(Math.max(1, to - from));
        for (int i = 0, n = 1 + rnd.nextInt(8); i < n && p + i < o.length; i++) {
            o[p + i] = (byte) rnd.nextInt(256);
        }
        return o;
    }

    static byte[] truncate(byte[] b, Random rnd) {
        return Arrays.copyOf(b, rnd.nextInt(b.length));
    }

    static byte[] safetensors(byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(header.length).put(header).put(data).array();
    }

    /** A safetensors file whose JSON header was edited as a tree (offsets, shapes, dtypes, structure). */
    static byte[] rewriteHeader(byte[] file, Random rnd, List<String> how) throws IOException {
        long hl = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode root = (ObjectNode) JSON.readTree(Arrays.copyOfRange(file, 8, 8 + (int) hl));
        byte[] data = Arrays.copyOfRange(file, 8 + (int) hl, file.length);
        List<String> keys = new ArrayList<>();
        root.fieldNames().forEachRemaining(k -> {
            if (!k.equals("__metadata__")) {
                keys.add(k);
            }
        });
        ObjectNode t = (ObjectNode) root.get(keys.get(rnd.nextInt(keys.size())));
        switch (rnd.nextInt(9)) {
            case 0 -> {
                ArrayNode off = (ArrayNode) t.get("data_offsets");
                int i = rnd.nextInt(2);
                off.set(i, JSON.getNodeFactory().numberNode(lie(rnd, off.get(i).asLong())));
                how.add("data_offsets");
            }
            case 1 -> {
                ArrayNode off = (ArrayNode) t.get("data_offsets");
                JsonNode a = off.get(0);
                off.set(0, off.get(1));
                off.set(1, a);
                how.add("offsets swapped");
            }
            case 2 -> {
                ArrayNode sh = (ArrayNode) t.get("shape");
                if (sh.isEmpty()) {
                    sh.add(lie(rnd, 1));
                } else {
                    int i = rnd.nextInt(sh.size());
                    sh.set(i, JSON.getNodeFactory().numberNode(lie(rnd, sh.get(i).asLong())));
                }
                how.add("shape");
            }
            case 3 -> {
                ArrayNode sh = (ArrayNode) t.get("shape");
                sh.removeAll();
                sh.add(1L << 62).add(4).add(1L << 62);
                how.add("shape overflow");
            }
            case 4 -> {
                String[] dtypes = {"F32", "F16", "BF16", "I8", "I64", "U8", "BOOL", "F64", "F8_E4M3", "", "f32"};
                t.put("dtype", dtypes[rnd.nextInt(dtypes.length)]);
                how.add("dtype");
            }
            case 5 -> {
                String[] fields = {"dtype", "shape", "data_offsets"};
                t.remove(fields[rnd.nextInt(3)]);
                how.add("field removed");
            }
            case 6 -> {
                String[] fields = {"dtype", "shape", "data_offsets"};
                JsonNode[] junk = {JSON.getNodeFactory().textNode("12"), JSON.getNodeFactory().numberNode(3.5),
                    JSON.getNodeFactory().nullNode(), JSON.getNodeFactory().objectNode(), JSON.getNodeFactory().arrayNode().add(-1)};
                t.set(fields[rnd.nextInt(3)], junk[rnd.nextInt(junk.length)]);
                how.add("field type");
            }
            case 7 -> {
                // the same tensor entry under a second name, overlapping the first
                root.set(keys.get(0) + ".copy", t.deepCopy());
                how.add("aliased entry");
            }
            default -> {
                ObjectNode deep = JSON.createObjectNode();
                ObjectNode cur = deep;
                for (int i = 0; i < 200; i++) {
                    cur = cur.putObject("x");
                }
                root.set("__metadata__", deep);
                how.add("deep nesting");
            }
        }
        return safetensors(JSON.writeValueAsBytes(root), data);
    }

    static byte[] mutateSafetensors(byte[] file, Random rnd, List<String> how) throws IOException {
        long hl = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        int headerEnd = 8 + (int) hl;
        switch (rnd.nextInt(5)) {
            case 0 -> {
                byte[] o = file.clone();
                ByteBuffer.wrap(o, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(lie(rnd, hl));
                how.add("header length");
                return o;
            }
            case 1 -> {
                how.add("header bit flips");
                return flipBits(file, 8, headerEnd, rnd);
            }
            case 2 -> {
                how.add("header overwrite");
                return overwrite(file, 8, headerEnd, rnd);
            }
            case 3 -> {
                how.add("truncate");
                return truncate(file, rnd);
            }
            default -> {
                return rewriteHeader(file, rnd, how);
            }
        }
    }

    /** Pickle opcodes, to insert at random places. */
    static final byte[] OPCODES = "()]}tldusaeb012RQhjqrKJMXGN.cpgiIFLSVBCTUoP\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098"
            .getBytes(StandardCharsets.ISO_8859_1);

    static byte[] mutatePickle(byte[] pkl, Random rnd, List<String> how) {
        switch (rnd.nextInt(6)) {
            case 0 -> {
                how.add("bit flips");
                return flipBits(pkl, 0, pkl.length, rnd);
            }
            case 1 -> {
                how.add("truncate");
                return truncate(pkl, rnd);
            }
            case 2 -> {
                how.add("overwrite");
                return overwrite(pkl, 0, pkl.length, rnd);
            }
            case 3 -> {
                // an opcode (with a few random argument bytes) spliced in
                int p = rnd.nextInt(pkl.length);
                byte[] ins = new byte[1 + rnd.nextInt(9)];
                rnd.nextBytes(ins);
                ins[0] = OPCODES[rnd.nextInt(OPCODES.length)];
                byte[] o = new byte[pkl.length + ins.length];
                System.arraycopy(pkl, 0, o, 0, p);
                System.arraycopy(ins, 0, o, p, ins.length);
                System.arraycopy(pkl, p, o, p + ins.length, pkl.length - p);
                how.add("opcode inserted");
                return o;
            }
            case 4 -> {
                // a BINUNICODE / SHORT_BINUNICODE / LONG_BINGET / BINPUT argument made to lie
                List<Integer> at = new ArrayList<>();
                for (int i = 0; i < pkl.length - 9; i++) {
                    int op = pkl[i] & 0xff;
                    if (op == 'X' || op == 0x8c || op == 'r' || op == 'j' || op == 0x8a || op == 0x95) {
                        at.add(i);
                    }
                }
                byte[] o = pkl.clone();
                if (!at.isEmpty()) {
                    int i = at.get(rnd.nextInt(at.size()));
                    int op = o[i] & 0xff;
                    long v = lie(rnd, 4);
                    int width = op == 0x8c || op == 0x8a ? 1 : op == 0x95 ? 8 : 4;
                    for (int k = 0; k < width; k++) {
                        o[i + 1 + k] = (byte) (v >>> (8 * k));
                    }
                }
                how.add("length lie");
                return o;
            }
            default -> {
                // the rebuild function swapped for a forbidden global of the same length or any length
                String target = "torch._utils\n_rebuild_tensor_v2\n";
                String s = new String(pkl, StandardCharsets.ISO_8859_1);
                int i = s.indexOf("_rebuild_tensor_v2");
                String[] g = FORBIDDEN[rnd.nextInt(FORBIDDEN.length)];
                how.add("forbidden global");
                if (i < 0) {
                    return (new String(new byte[] {(byte) 0x80, 2}, StandardCharsets.ISO_8859_1) + "c" + g[0] + "\n" + g[1] + "\n)R.")
                            .getBytes(StandardCharsets.ISO_8859_1);
                }
                // protocol 2 GLOBAL: "ctorch._utils\n_rebuild_tensor_v2\n"
                String replaced = s.replaceFirst("torch\\._utils\n_rebuild_tensor_v2\n", g[0] + "\n" + g[1] + "\n");
                if (replaced.equals(s)) {
                    replaced = s.replace(target, g[0] + "\n" + g[1] + "\n");
                }
                return replaced.getBytes(StandardCharsets.ISO_8859_1);
            }
        }
    }

    static byte[] mutateIndex(byte[] json, Random rnd, List<String> how) throws IOException {
        switch (rnd.nextInt(4)) {
            case 0 -> {
                how.add("bit flips");
                return flipBits(json, 0, json.length, rnd);
            }
            case 1 -> {
                how.add("truncate");
                return truncate(json, rnd);
            }
            case 2 -> {
                how.add("overwrite");
                return overwrite(json, 0, json.length, rnd);
            }
            default -> {
                ObjectNode root = (ObjectNode) JSON.readTree(json);
                ObjectNode wm = (ObjectNode) root.get("weight_map");
                List<String> keys = new ArrayList<>();
                wm.fieldNames().forEachRemaining(keys::add);
                String key = keys.get(rnd.nextInt(keys.size()));
                String[] shards = {"../model-00001-of-00002.safetensors", "/etc/passwd", "a\u0000b.safetensors", "", ".", "..",
                    "x".repeat(300), "model-00003-of-00002.safetensors", "model-00002-of-00002.safetensors",
                    "model-00001-of-00002.safetensors", "C:\\model.safetensors", "CON", "m\u00e9del.safetensors", "\ud83d\ude00"};
                switch (rnd.nextInt(4)) {
                    case 0 -> wm.put(key, shards[rnd.nextInt(shards.length)]);
                    case 1 -> wm.put(key, rnd.nextInt(100));
                    case 2 -> wm.put(key + ".extra", shards[rnd.nextInt(shards.length)]);
                    default -> root.set("weight_map", rnd.nextBoolean() ? JSON.createArrayNode() : JSON.getNodeFactory().textNode("x"));
                }
                how.add("weight_map edit");
                return JSON.writeValueAsBytes(root);
            }
        }
    }

    @Test
    void fuzzedCheckpointsLoadOrFailCleanly(@TempDir Path dir) throws Exception {
        byte[] st = Files.readAllBytes(TINY_ST.resolve("model-00002-of-00002.safetensors"));
        Path binShard = TINY_BIN.resolve("pytorch_model-00002-of-00002.bin");
        byte[] bin = Files.readAllBytes(binShard);
        List<ZipEntryBytes> entries = zipEntries(binShard);
        byte[] pkl = pickleOf(entries);
        byte[] index = Files.readAllBytes(TINY_ST.resolve("model.safetensors.index.json"));
        Path indexDir = Files.createDirectories(dir.resolve("indexed"));
        for (String shard : List.of("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")) {
            Files.createSymbolicLink(indexDir.resolve(shard), TINY_ST.resolve(shard).toAbsolutePath());
        }
        // the unmutated inputs load
        assertEquals(openAndReadAll(TINY_ST.resolve("model-00002-of-00002.safetensors")),
                openAndReadAll(Files.write(dir.resolve("same.bin"), torchZip(entries, pkl))));

        Random rnd = new Random(SEED);
        Target[] targets = Target.values();
        Map<String, int[]> byTarget = new TreeMap<>(); // tried, loaded, rejected
        Map<String, Integer> byMutation = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        int tried = 0;
        int loaded = 0;
        int rejected = 0;
        int crashes = 0;
        int hangs = 0;
        int forbiddenGlobals = 0;
        long maxAllocated = 0;
        long t0 = System.nanoTime();
        try (BoundedRunner runner = new BoundedRunner("checkpoint-fuzz")) {
            while (tried < CASES) {
                Target target = targets[rnd.nextInt(targets.length)];
                List<String> how = new ArrayList<>();
                Path file;
                long inputBytes;
                switch (target) {
                    case SAFETENSORS -> {
                        byte[] b = mutateSafetensors(st, rnd, how);
                        file = Files.write(dir.resolve("case" + tried + ".safetensors"), b);
                        inputBytes = b.length;
                    }
                    case PICKLE -> {
                        byte[] b = torchZip(entries, mutatePickle(pkl, rnd, how));
                        file = Files.write(dir.resolve("case" + tried + ".bin"), b);
                        inputBytes = b.length;
                    }
                    case ZIP -> {
                        // damage in the zip structure: the last 2 kB hold the central directory and the end records
                        int from = rnd.nextBoolean() ? Math.max(0, bin.length - 2048) : 0;
                        byte[] b = switch (rnd.nextInt(3)) {
                            case 0 -> flipBits(bin, from, bin.length, rnd);
                            case 1 -> overwrite(bin, from, bin.length, rnd);
                            default -> truncate(bin, rnd);
                        };
                        how.add(from > 0 ? "directory damage" : "anywhere damage");
                        file = Files.write(dir.resolve("case" + tried + ".bin"), b);
                        inputBytes = b.length;
                    }
                    default -> {
                        byte[] b = mutateIndex(index, rnd, how);
                        file = Files.write(indexDir.resolve("model.safetensors.index.json"), b);
                        inputBytes = b.length + Files.size(TINY_ST.resolve("model-00001-of-00002.safetensors")) + st.length;
                    }
                }
                Path caseFile = file;
                Outcome<Integer> o = runner.run(() -> openAndReadAll(caseFile), CASE_TIMEOUT_MS,
                        CheckpointFormatException.class, MissingWeightException.class);
                tried++;
                String mutation = target + ": " + String.join(", ", how);
                byMutation.merge(mutation, 1, Integer::sum);
                int[] bt = byTarget.computeIfAbsent(target.name(), k -> new int[3]);
                bt[0]++;
                maxAllocated = Math.max(maxAllocated, o.allocatedBytes());
                String what = "case " + tried + " (" + mutation + ")";
                if (o.kind() == Kind.OK) {
                    loaded++;
                    bt[1]++;
                    if (how.contains("forbidden global")) {
                        failures.add(what + ": a pickle naming a forbidden global loaded");
                    }
                } else if (o.kind() == Kind.CLEAN_ERROR) {
                    rejected++;
                    bt[2]++;
                    String m = o.error().getMessage();
                    if (m == null || m.isBlank() || m.contains("\n")) {
                        failures.add(what + ": unclear message " + m);
                    }
                    if (how.contains("forbidden global") && m.contains("which is not allowed")) {
                        forbiddenGlobals++;
                    }
                } else if (o.kind() == Kind.HANG) {
                    hangs++;
                    failures.add(what + ": no result within " + CASE_TIMEOUT_MS + " ms");
                } else {
                    crashes++;
                    failures.add(what + ": " + o.error());
                    if (crashes <= 3) {
                        o.error().printStackTrace(System.out);
                    }
                    Files.copy(file, Files.createDirectories(ReliabilityReport.DIR.resolve("checkpoint-fuzz-failures"))
                            .resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
                long bound = (64L << 20) + 8 * inputBytes;
                if (o.allocatedBytes() > bound) {
                    failures.add(what + ": allocated " + o.allocatedBytes() + " bytes (bound " + bound + ")");
                }
                if (target != Target.INDEX) {
                    Files.deleteIfExists(file);
                }
            }
        }
        Map<String, Object> targetsReport = new LinkedHashMap<>();
        byTarget.forEach((k, v) -> targetsReport.put(k, Map.of("tried", v[0], "loaded", v[1], "rejected", v[2])));
        new ReliabilityReport("checkpoint-fuzz")
                .put("seed", SEED).put("tried", tried).put("loaded", loaded).put("rejectedCleanly", rejected)
                .put("crashes", crashes).put("hangs", hangs).put("forbiddenGlobalsRefused", forbiddenGlobals)
                .put("maxAllocatedBytesPerCase", maxAllocated).put("byTarget", targetsReport).put("byMutation", byMutation)
                .put("failures", failures.size() > 20 ? failures.subList(0, 20) : failures)
                .write();
        System.out.printf("[report] checkpoint fuzz: %d cases in %.1f s%n", tried, (System.nanoTime() - t0) / 1e9);
        assertEquals(List.of(), failures, "every case loads or fails with CheckpointFormatException / MissingWeightException");
    }

    @Test
    void picklesNamingAnyGlobalOutsideTheAllowListAreRefused(@TempDir Path dir) throws Exception {
        List<ZipEntryBytes> entries = zipEntries(TINY_BIN.resolve("pytorch_model-00002-of-00002.bin"));
        Path marker = dir.resolve("pwned");
        int refused = 0;
        for (String[] g : FORBIDDEN) {
            // protocol 2 GLOBAL + REDUCE, and protocol 4 STACK_GLOBAL + REDUCE, each calling g("touch <marker>")
            ByteArrayOutputStream p2 = new ByteArrayOutputStream();
            p2.writeBytes(new byte[] {(byte) 0x80, 2});
            p2.writeBytes(("c" + g[0] + "\n" + g[1] + "\n").getBytes(StandardCharsets.UTF_8));
            p2.writeBytes(("X" ).getBytes(StandardCharsets.US_ASCII));
            byte[] arg = ("touch " + marker).getBytes(StandardCharsets.UTF_8);
            p2.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(arg.length).array());
            p2.writeBytes(arg);
            p2.writeBytes(new byte[] {(byte) 0x85, 'R', '.'});
            ByteArrayOutputStream p4 = new ByteArrayOutputStream();
            p4.writeBytes(new byte[] {(byte) 0x80, 4});
            for (String s : g) {
                byte[] b = s.getBytes(StandardCharsets.UTF_8);
                p4.write(0x8c);
                p4.write(b.length);
                p4.writeBytes(b);
            }
            p4.write(0x93);
            p4.write(0x8c);
            p4.write(arg.length);
            p4.writeBytes(arg);
            p4.writeBytes(new byte[] {(byte) 0x85, 'R', '.'});
            for (byte[] pickle : List.of(p2.toByteArray(), p4.toByteArray())) {
                Path f = Files.write(dir.resolve("evil.bin"), torchZip(entries, pickle));
                CheckpointFormatException e = org.junit.jupiter.api.Assertions.assertThrows(CheckpointFormatException.class,
                        () -> ShardedCheckpoint.open(f));
                assertTrue(e.getMessage().contains("refers to global '" + g[0] + "." + g[1] + "', which is not allowed"),
                        e.getMessage());
                refused++;
            }
        }
        assertFalse(Files.exists(marker), "nothing was executed");
        new ReliabilityReport("pickle-globals").put("forbiddenGlobals", FORBIDDEN.length).put("picklesRefused", refused).write();
    }
}
