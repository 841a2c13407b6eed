package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.CheckpointFormatException;
import ai.convllava.model.spi.TensorInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A {@code torch.save} zip checkpoint (the {@code pytorch_model*.bin} shards of a Hugging Face
 * repo): {@code <prefix>/data.pkl} describes a state dict whose tensors live in stored (never
 * compressed) entries {@code <prefix>/data/<storageKey>}. The zip directory is parsed by hand
 * (ZIP64 included), {@code data.pkl} by {@link RestrictedUnpickler}; tensor bytes are mapped on demand.
 */
public final class TorchZipFile implements TensorFile {
    private static final Logger LOG = LoggerFactory.getLogger(TorchZipFile.class);
    /** data.pkl of a 7B model is ~100 kB; anything near this bound is not a state dict. */
    static final long MAX_PICKLE_BYTES = 256L * 1024 * 1024;
    /** The most a deflate stream can expand. */
    static final long MAX_DEFLATE_RATIO = 1032;

    private final MappedFile file;
    private final String prefix;
    private final Map<String, TensorInfo> tensors;

    private TorchZipFile(MappedFile file, String prefix, Map<String, TensorInfo> tensors) {
        this.file = file;
        this.prefix = prefix;
        this.tensors = tensors;
    }

    public static TorchZipFile open(Path path) {
        MappedFile file = MappedFile.open(path);
        try {
            return parse(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static TorchZipFile parse(MappedFile file) {
        String name = file.name();
        ZipDirectory zip = ZipDirectory.read(file);
        String prefix = null;
        for (String entry : zip.entries().keySet()) {
            int slash = entry.indexOf('/');
            if (slash > 0 && entry.substring(slash).equals("/data.pkl")) {
                if (prefix != null) {
                    throw new CheckpointFormatException(name + ": holds two pickles, " + prefix + "/data.pkl and " + entry);
                }
                prefix = entry.substring(0, slash);
            }
        }
        if (prefix == null) {
            throw new CheckpointFormatException(name + ": zip archive has no <name>/data.pkl; not a torch.save checkpoint"
                    + " (legacy non-zip torch files are not supported)");
        }
        ZipDirectory.Entry byteorder = zip.entries().get(prefix + "/byteorder");
        if (byteorder != null) {
            String order = new String(entryBytes(file, zip, byteorder, 16), StandardCharsets.US_ASCII).trim();
            if (!order.equals("little")) {
                throw new CheckpointFormatException(name + ": tensors are stored " + order + "-endian; only little-endian is supported");
            }
        }
        String where = name + ": " + prefix + "/data.pkl";
        byte[] pkl = entryBytes(file, zip, zip.entries().get(prefix + "/data.pkl"), MAX_PICKLE_BYTES);
        Object root = RestrictedUnpickler.load(pkl, where);
        if (!(root instanceof Map<?, ?> dict)) {
            throw new CheckpointFormatException(where + " holds a " + RestrictedUnpickler.describe(root)
                    + ", not a state dict of tensors");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, Long> storageOffsets = new HashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String key)) {
                throw new CheckpointFormatException(where + " has a non-string key " + RestrictedUnpickler.describe(e.getKey()));
            }
            if (!(e.getValue() instanceof RestrictedUnpickler.TensorRef t)) {
                LOG.warn("{}: '{}' is a {}, not a tensor; ignored", where, key, RestrictedUnpickler.describe(e.getValue()));
                continue;
            }
            tensors.put(key, tensor(file, zip, prefix, key, t, storageOffsets));
        }
        return new TorchZipFile(file, prefix, Collections.unmodifiableMap(tensors));
    }

    private static TensorInfo tensor(MappedFile file, ZipDirectory zip, String prefix, String key,
                                     RestrictedUnpickler.TensorRef t, Map<String, Long> storageOffsets) {
        String name = file.name();
        RestrictedUnpickler.StorageRef s = t.storage();
        String where = name + ": tensor '" + key + "'";
        String entryName = prefix + "/data/" + s.key();
        ZipDirectory.Entry entry = zip.entries().get(entryName);
        if (entry == null) {
            throw new CheckpointFormatException(where + " needs storage entry " + entryName + ", which the archive lacks");
        }
        if (entry.method() != 0) {
            throw new CheckpointFormatException(name + ": storage entry " + entryName + " of tensor '" + key
                    + "' is compressed (method " + entry.method() + "); tensors must be stored uncompressed");
        }
        if ((entry.flags() & 1) != 0) {
            throw new CheckpointFormatException(name + ": storage entry " + entryName + " is encrypted");
        }
        int elem = s.dtype().bytes();
        long storageBytes;
        long numel = 1;
        long end;
        try {
            storageBytes = Math.multiplyExact(s.numel(), (long) elem);
            for (long d : t.size()) {
                numel = Math.multiplyExact(numel, d);
            }
            end = Math.multiplyExact(Math.addExact(t.storageOffset(), numel), (long) elem);
        } catch (ArithmeticException ex) {
            throw new CheckpointFormatException(where + " size " + Arrays.toString(t.size()) + " overflows 64 bits");
        }
        if (entry.uncompressedSize() != entry.compressedSize() || entry.compressedSize() < storageBytes) {
            throw new CheckpointFormatException(where + ": storage " + entryName + " holds " + entry.compressedSize()
                    + " bytes but its " + s.numel() + " " + s.dtype() + " elements need " + storageBytes);
        }
        long expected = 1;
        for (int i = t.size().length - 1; i >= 0 && numel > 0; i--) {
            if (t.size()[i] != 1 && t.stride()[i] != expected) {
                throw new CheckpointFormatException(where + " is not contiguous (size " + Arrays.toString(t.size())
                        + ", stride " + Arrays.toString(t.stride()) + "); only row-major contiguous tensors are supported"
                        + " (save with tensor.contiguous())");
            }
            expected *= t.size()[i];
        }
        if (numel > 0 && end > storageBytes) {
            throw new CheckpointFormatException(where + " " + Arrays.toString(t.size()) + " at storage offset "
                    + t.storageOffset() + " runs past its storage " + entryName + " of " + s.numel() + " elements");
        }
        long base = storageOffsets.computeIfAbsent(entryName, k -> zip.dataOffset(entry));
        long offset = numel == 0 ? base : base + t.storageOffset() * elem;
        return new TensorInfo(key, s.dtype(), t.size(), file.path(), offset, numel * elem);
    }

    private static byte[] entryBytes(MappedFile file, ZipDirectory zip, ZipDirectory.Entry e, long limit) {
        if (e.uncompressedSize() > limit) {
            throw new CheckpointFormatException(file.name() + ": zip entry " + e.name() + " is " + e.uncompressedSize()
                    + " bytes, over the " + limit + " bytes such an entry may have");
        }
        long offset = zip.dataOffset(e);
        ByteBuffer raw = file.read(offset, (int) e.compressedSize(), "zip entry " + e.name());
        if (e.method() == 0) {
            if (e.compressedSize() != e.uncompressedSize()) {
                throw new CheckpointFormatException(file.name() + ": stored zip entry " + e.name() + " has different sizes");
            }
            return raw.array();
        }
        if (e.method() != 8) {
            throw new CheckpointFormatException(file.name() + ": zip entry " + e.name() + " uses compression method "
                    + e.method() + " (only stored or deflated are supported)");
        }
        // deflate expands at most 1032:1 (a 258-byte match per ~2 bits); a larger claim is a lie, refused before allocating it
        long maxInflated = Math.multiplyExact(e.compressedSize(), MAX_DEFLATE_RATIO) + 1024;
        if (e.uncompressedSize() > maxInflated) {
            throw new CheckpointFormatException(file.name() + ": zip entry " + e.name() + " claims " + e.uncompressedSize()
                    + " bytes, but its " + e.compressedSize() + " deflated bytes can hold at most " + maxInflated
                    + "; the zip directory is corrupt");
        }
        Inflater inf = new Inflater(true);
        try {
            inf.setInput(raw.array());
            byte[] out = new byte[(int) e.uncompressedSize()];
            int n = 0;
            while (n < out.length && !inf.finished()) {
                int r = inf.inflate(out, n, out.length - n);
                if (r == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                n += r;
            }
            if (n != out.length) {
                throw new CheckpointFormatException(file.name() + ": zip entry " + e.name() + " inflates to " + n
                        + " bytes, not the " + out.length + " its header says");
            }
            return out;
        } catch (DataFormatException ex) {
            throw new CheckpointFormatException(file.name() + ": zip entry " + e.name() + " is corrupt (" + ex.getMessage() + ")", ex);
        } finally {
            inf.end();
        }
    }

    @Override
    public Path path() {
        return file.path();
    }

    @Override
    public String format() {
        return "PyTorch zip";
    }

    /** The archive's top folder, e.g. {@code pytorch_model-00001-of-00002} or {@code archive}. */
    public String prefix() {
        return prefix;
    }

    @Override
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    @Override
    public ByteBuffer map(TensorInfo info) {
        return file.map(info.offset(), info.byteLength(), "tensor '" + info.name() + "'");
    }

    @Override
    public void read(TensorInfo info, long byteOffset, ByteBuffer dst) {
        file.readTensor(info, byteOffset, dst);
    }

    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return "TorchZipFile[" + file.path() + ", " + tensors.size() + " tensors]";
    }
}
