package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.CheckpointFormatException;
import ai.convllava.model.spi.MissingWeightException;
import ai.convllava.model.spi.TensorInfo;
import ai.convllava.model.spi.WeightSource;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The weights of a Hugging Face checkpoint, one file or a folder of shards, in either format:
 * {@code model.safetensors[.index.json]} or {@code pytorch_model.bin[.index.json]} (safetensors is
 * preferred when a folder has both). Every shard is opened and its tensor table validated up front,
 * and the index is checked against the shards, so a broken download fails at open with the name of
 * the file; tensor bytes are read (positional reads, not mappings) and widened to float32 only when
 * requested.
 */
public final class ShardedCheckpoint implements WeightSource {
    private static final Logger LOG = LoggerFactory.getLogger(ShardedCheckpoint.class);
    private static final ObjectMapper JSON = JsonMapper.builder().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).build();
    /** Elements converted per bulk step: 16 KiB of shorts, fits L1 alongside the floats. */
    private static final int CHUNK = 8192;
    /** Bytes per positional read when widening a tensor. */
    static final int READ_BYTES = 1 << 20;

    private final ThreadLocal<ByteBuffer> readBuffer = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(READ_BYTES).order(ByteOrder.LITTLE_ENDIAN));

    /** Candidate files in a folder, in order of preference. */
    public static final List<String> LAYOUTS = List.of(
            "model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin");

    private final String description;
    private final List<TensorFile> files;
    private final Map<String, TensorInfo> infos;
    private final Map<String, TensorFile> owner;
    /** Key to shard file name, as the index listed it (empty without an index). */
    private final Map<String, String> indexMap;
    private final Set<String> used = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;

    private ShardedCheckpoint(String description, List<TensorFile> files, Map<String, String> indexMap) {
        this.description = description;
        this.files = List.copyOf(files);
        this.indexMap = indexMap;
        Map<String, TensorInfo> infos = new LinkedHashMap<>();
        Map<String, TensorFile> owner = new LinkedHashMap<>();
        for (TensorFile f : files) {
            for (Map.Entry<String, TensorInfo> e : f.tensors().entrySet()) {
                TensorFile prev = owner.put(e.getKey(), f);
                if (prev != null) {
                    throw new CheckpointFormatException("tensor '" + e.getKey() + "' is in two shards, "
                            + prev.path().getFileName() + " and " + f.path().getFileName() + " (" + description + ")");
                }
                infos.put(e.getKey(), e.getValue());
            }
        }
        this.infos = Collections.unmodifiableMap(infos);
        this.owner = owner;
    }

    /**
     * Opens a checkpoint folder (see {@link #LAYOUTS}) or a single {@code .safetensors},
     * {@code .bin} / {@code .pt} / {@code .pth} or {@code *.index.json} file.
     */
    public static ShardedCheckpoint open(Path folderOrFile) {
        if (Files.isDirectory(folderOrFile)) {
            for (String layout : LAYOUTS) {
                Path p = folderOrFile.resolve(layout);
                if (Files.isRegularFile(p)) {
                    return openFile(p);
                }
            }
            throw new CheckpointFormatException(folderOrFile + ": no checkpoint found; expected one of " + String.join(", ", LAYOUTS));
        }
        if (!Files.exists(folderOrFile)) {
            throw new CheckpointFormatException(folderOrFile + ": no such file or folder");
        }
        return openFile(folderOrFile);
    }

    private static ShardedCheckpoint openFile(Path file) {
        String fileName = String.valueOf(file.getFileName());
        if (fileName.endsWith(".index.json")) {
            return openIndex(file);
        }
        TensorFile f = openShard(file);
        try {
            return new ShardedCheckpoint(file + " (" + f.format() + ")", List.of(f), Map.of());
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private static TensorFile openShard(Path file) {
        String n = String.valueOf(file.getFileName()).toLowerCase(Locale.ROOT);
        if (n.endsWith(".safetensors")) {
            return SafetensorsFile.open(file);
        }
        if (n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth")) {
            return TorchZipFile.open(file);
        }
        // unknown extension: a zip starts with a local header "PK\3\4", safetensors with a length
        try (var in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            boolean zip = magic.length == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
            return zip ? TorchZipFile.open(file) : SafetensorsFile.open(file);
        } catch (IOException e) {
            throw new CheckpointFormatException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    private static ShardedCheckpoint openIndex(Path index) {
        String indexName = String.valueOf(index.getFileName());
        JsonNode root;
        try {
            root = JSON.readTree(index.toFile());
        } catch (JacksonException e) {
            throw new CheckpointFormatException(indexName + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        } catch (IOException e) {
            throw new CheckpointFormatException(indexName + ": cannot read (" + e.getMessage() + ")", e);
        }
        JsonNode wm = root == null ? null : root.get("weight_map");
        if (wm == null || !wm.isObject()) {
            throw new CheckpointFormatException(indexName + ": has no \"weight_map\" object");
        }
        Path folder = index.toAbsolutePath().getParent();
        Map<String, String> indexMap = new LinkedHashMap<>();
        Map<String, String> firstKeyOfShard = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = wm.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new CheckpointFormatException(indexName + ": weight_map entry '" + e.getKey() + "' is not a file name");
            }
            String shard = e.getValue().asText();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..") || shard.equals(".")) {
                throw new CheckpointFormatException(indexName + ": weight_map entry '" + e.getKey() + "' names shard '" + shard
                        + "'; shards must be plain file names in the checkpoint folder");
            }
            try {
                folder.resolve(shard); // e.g. a NUL character, or ':' / '*' on Windows
            } catch (InvalidPathException ex) {
                throw new CheckpointFormatException(indexName + ": weight_map entry '" + e.getKey() + "' names shard '"
                        + shard.replace("\0", "\\0") + "', which is not a valid file name here (" + ex.getReason() + ")", ex);
            }
            indexMap.put(e.getKey(), shard);
            firstKeyOfShard.putIfAbsent(shard, e.getKey());
        }
        for (Map.Entry<String, String> s : firstKeyOfShard.entrySet()) {
            if (!Files.isRegularFile(folder.resolve(s.getKey()))) {
                throw new CheckpointFormatException(indexName + ": shard file " + s.getKey() + " is missing from " + folder
                        + " (it holds '" + s.getValue() + "' and others); the download is incomplete");
            }
        }
        List<TensorFile> files = new ArrayList<>();
        try {
            Map<String, TensorFile> byName = new LinkedHashMap<>();
            for (String shard : firstKeyOfShard.keySet()) {
                TensorFile f = openShard(folder.resolve(shard));
                files.add(f);
                byName.put(shard, f);
            }
            for (Map.Entry<String, String> e : indexMap.entrySet()) {
                if (!byName.get(e.getValue()).tensors().containsKey(e.getKey())) {
                    throw new CheckpointFormatException(indexName + ": tensor '" + e.getKey() + "' is listed in shard "
                            + e.getValue() + ", but that file does not contain it");
                }
            }
            String format = files.isEmpty() ? "empty" : files.get(0).format();
            ShardedCheckpoint c = new ShardedCheckpoint(folder + " (" + format + ", " + files.size() + " shards)",
                    files, Collections.unmodifiableMap(indexMap));
            LOG.info("opened {}: {} tensors", c.describe(), c.infos.size());
            return c;
        } catch (RuntimeException e) {
            files.forEach(TensorFile::close);
            throw e;
        }
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public Set<String> keys() {
        return infos.keySet();
    }

    @Override
    public boolean contains(String key) {
        return infos.containsKey(key);
    }

    @Override
    public TensorInfo info(String key) {
        return infoFor(key, null);
    }

    private TensorInfo infoFor(String key, long[] expectedShape) {
        TensorInfo info = infos.get(key);
        if (info == null) {
            String expected = expectedShape == null || expectedShape.length == 0 ? "" : " (expected shape " + Arrays.toString(expectedShape) + ")";
            String shard = indexMap.get(key);
            String whereListed = shard != null ? "the index says shard " + shard + " holds it" : "no shard lists it";
            throw new MissingWeightException("missing weight '" + key + "'" + expected + " in " + description
                    + ": " + whereListed + "; the checkpoint does not match this model");
        }
        return info;
    }

    /** All files of this checkpoint (shards), in index order. */
    public List<Path> files() {
        return files.stream().map(TensorFile::path).toList();
    }

    @Override
    public ByteBuffer readFloat32(String key, long... expectedShape) {
        TensorInfo info = checked(key, expectedShape);
        long outBytes = info.numel() * 4;
        if (outBytes > Integer.MAX_VALUE) {
            throw new CheckpointFormatException(info.file().getFileName() + ": tensor '" + key + "' " + info.shapeString()
                    + " is " + outBytes + " bytes as float32, over the 2 GiB a single buffer can hold");
        }
        ByteBuffer out = ByteBuffer.allocateDirect((int) outBytes).order(ByteOrder.LITTLE_ENDIAN);
        read(info, 0, info.numel(), out.asFloatBuffer());
        used.add(key);
        return out;
    }

    @Override
    public float[] readFloatArray(String key, long... expectedShape) {
        TensorInfo info = checked(key, expectedShape);
        if (info.numel() > Integer.MAX_VALUE - 8) {
            throw new CheckpointFormatException(info.file().getFileName() + ": tensor '" + key + "' " + info.shapeString()
                    + " has too many elements for a Java array; use readFloat32");
        }
        float[] out = new float[(int) info.numel()];
        read(info, 0, info.numel(), FloatBuffer.wrap(out));
        used.add(key);
        return out;
    }

    /**
     * Widens the tensor into {@code dst} at its position (advanced by numel), without allocating:
     * lets a loader fill memory it already owns and skip zeroing a fresh buffer. Marks the key as used.
     *
     * @throws IllegalArgumentException if {@code dst} has fewer than numel floats remaining
     */
    @Override
    public void readInto(String key, FloatBuffer dst, long... expectedShape) {
        TensorInfo info = checked(key, expectedShape);
        if (dst.remaining() < info.numel()) {
            throw new IllegalArgumentException("tensor '" + key + "' " + info.shapeString() + " has " + info.numel()
                    + " elements but the destination has room for " + dst.remaining());
        }
        read(info, 0, info.numel(), dst);
        used.add(key);
    }

    @Override
    public void readRangeInto(String key, long first, int count, FloatBuffer dst, long... expectedShape) {
        TensorInfo info = checked(key, expectedShape);
        WeightSource.checkRange(key, info.numel(), first, count, dst);
        read(info, first, count, dst);
        used.add(key);
    }

    /**
     * Widens elements [first, first + count) into {@code dst}, {@link #READ_BYTES} at a time through
     * one direct buffer per thread, with positional reads: the file's pages stay in the page cache
     * instead of the process's resident memory (mapped tensors stayed resident until a GC).
     */
    private void read(TensorInfo info, long first, long count, FloatBuffer dst) {
        if (closed) {
            throw new IllegalStateException("checkpoint " + description + " is closed");
        }
        TensorFile file = owner.get(info.name());
        int elem = info.dtype().bytes();
        ByteBuffer buf = readBuffer.get();
        long done = 0;
        while (done < count) {
            int n = (int) Math.min(count - done, READ_BYTES / elem);
            buf.clear().limit(n * elem);
            file.read(info, (first + done) * elem, buf);
            buf.flip();
            convert(info, buf, dst);
            done += n;
        }
    }

    /**
     * The tensor's stored bytes (its own dtype), read-only, little-endian, position 0.
     * Marks the key as used.
     */
    public ByteBuffer raw(String key) {
        TensorInfo info = infoFor(key, null);
        ByteBuffer b = map(info).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        used.add(key);
        return b;
    }

    /** Sum of the stored byte lengths of {@code keys} (e.g. to report loading progress). */
    public long totalBytes(Collection<String> keys) {
        long total = 0;
        for (String k : keys) {
            total += infoFor(k, null).byteLength();
        }
        return total;
    }

    @Override
    public Set<String> unusedKeys() {
        Set<String> unused = new LinkedHashSet<>(infos.keySet());
        unused.removeAll(used);
        return Collections.unmodifiableSet(unused);
    }

    private TensorInfo checked(String key, long[] expectedShape) {
        TensorInfo info = infoFor(key, expectedShape);
        if (expectedShape != null && expectedShape.length > 0 && !Arrays.equals(expectedShape, info.shape())) {
            throw new MissingWeightException("weight '" + key + "' has shape " + info.shapeString() + " but the model expects "
                    + Arrays.toString(expectedShape) + " (in " + info.file().getFileName() + "); the checkpoint does not match the config");
        }
        if (!info.dtype().isFloating()) {
            throw new CheckpointFormatException(info.file().getFileName() + ": tensor '" + key + "' is " + info.dtype()
                    + ", not a floating-point weight");
        }
        return info;
    }

    private ByteBuffer map(TensorInfo info) {
        if (closed) {
            throw new IllegalStateException("checkpoint " + description + " is closed");
        }
        return owner.get(info.name()).map(info);
    }

    /** Widens {@code src} (mapped, LE) to float32 into {@code dst}, in bulk chunks. */
    static void convert(TensorInfo info, ByteBuffer src, FloatBuffer dst) {
        src.order(ByteOrder.LITTLE_ENDIAN);
        switch (info.dtype()) {
            case F32 -> dst.put(src.asFloatBuffer());
            case BF16 -> bf16(src.asShortBuffer(), dst);
            case F16 -> f16(src.asShortBuffer(), dst);
            default -> throw new CheckpointFormatException(info.file().getFileName() + ": tensor '" + info.name() + "' is "
                    + info.dtype() + ", not a floating-point weight");
        }
    }

    private static void bf16(ShortBuffer src, FloatBuffer dst) {
        short[] s = new short[Math.min(CHUNK, src.remaining())];
        float[] f = new float[s.length];
        while (src.hasRemaining()) {
            int n = Math.min(s.length, src.remaining());
            src.get(s, 0, n);
            for (int i = 0; i < n; i++) {
                // bfloat16 is the top half of a float32
                f[i] = Float.intBitsToFloat(s[i] << 16);
            }
            dst.put(f, 0, n);
        }
    }

    private static void f16(ShortBuffer src, FloatBuffer dst) {
        float[] table = Half.table();
        short[] s = new short[Math.min(CHUNK, src.remaining())];
        float[] f = new float[s.length];
        while (src.hasRemaining()) {
            int n = Math.min(s.length, src.remaining());
            src.get(s, 0, n);
            for (int i = 0; i < n; i++) {
                f[i] = table[s[i] & 0xffff];
            }
            dst.put(f, 0, n);
        }
    }

    @Override
    public void close() {
        closed = true;
        files.forEach(TensorFile::close);
    }

    @Override
    public String toString() {
        return "ShardedCheckpoint[" + description + ", " + infos.size() + " tensors]";
    }
}
