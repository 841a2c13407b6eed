package ai.convllava.model.quant;

import ai.convllava.model.checkpoint.FileReads;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (version 3, as llama.cpp's gguf.c writes it), read without trusting it: the header,
 * the metadata, the tensor infos, and each tensor's bytes read by position when asked for. Every
 * length, count, offset and size is checked against the file before anything is allocated, so a
 * truncated, corrupt or hostile file gives a {@link GgufException} naming the file, the tensor or key,
 * and the numbers, never an OutOfMemoryError or a JVM crash.
 *
 * <pre>
 * uint32 magic "GGUF", uint32 version 3, uint64 tensor count, uint64 metadata count
 * metadata: string key, uint32 value type, value      (strings: uint64 length + UTF-8 bytes)
 * tensor infos: string name, uint32 n_dims, uint64 ne[n_dims] (ne[0] innermost), uint32 ggml type,
 *               uint64 offset from the start of the data section (a multiple of the alignment)
 * padding to general.alignment (default 32), then the data section
 * </pre>
 */
public final class GgufFile implements QuantizedWeights {
    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
    static final int VERSION = 3;
    public static final int DEFAULT_ALIGNMENT = 32;
    static final String ALIGNMENT_KEY = "general.alignment";
    /** Value types. */
    static final int UINT8 = 0;
    static final int INT8 = 1;
    static final int UINT16 = 2;
    static final int INT16 = 3;
    static final int UINT32 = 4;
    static final int INT32 = 5;
    static final int FLOAT32 = 6;
    static final int BOOL = 7;
    static final int STRING = 8;
    static final int ARRAY = 9;
    static final int UINT64 = 10;
    static final int INT64 = 11;
    static final int FLOAT64 = 12;
    /** ggml type ids this reader knows the size of (F32, F16, and the quantized formats). */
    static final int GGML_F32 = 0;
    static final int GGML_F16 = 1;

    /**
     * One tensor: its name, its dims as PyTorch orders them ({@code [rows, cols]}: GGUF's ne reversed),
     * its ggml type and its bytes' place in the file.
     */
    public record Tensor(String name, long[] shape, int ggmlType, long offset, long bytes) {
    }

    private final Path path;
    private final FileChannel channel;
    private final long size;
    private final Map<String, Object> metadata;
    private final Map<String, Tensor> tensors;

    private GgufFile(Path path, FileChannel channel, long size, Map<String, Object> metadata, Map<String, Tensor> tensors) {
        this.path = path;
        this.channel = channel;
        this.size = size;
        this.metadata = metadata;
        this.tensors = tensors;
    }

    /** Opens and validates a GGUF file (the tensors' bytes are read later, by position). */
    public static GgufFile open(Path path) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new GgufException(path + " does not exist");
        } catch (IOException e) {
            throw new GgufException(path + " cannot be read: " + e.getMessage(), e);
        }
        try {
            long size = ch.size();
            Reader r = new Reader(path, ch, size);
            int magic = r.u32("the magic number");
            if (magic != MAGIC) {
                throw new GgufException(path.getFileName() + " is not a GGUF file (it starts with 0x" + Integer.toHexString(magic) + ")");
            }
            int version = r.u32("the version");
            if (version != VERSION) {
                throw new GgufException(path.getFileName() + " is GGUF version " + Integer.toUnsignedString(version) + "; version "
                        + VERSION + " is read");
            }
            long tensorCount = r.u64("the tensor count");
            long kvCount = r.u64("the metadata count");
            // every entry takes at least 8 + 4 (metadata) or 8 + 4 + 8 + 4 + 8 (tensor) bytes: a count the file cannot hold is a lie
            if (tensorCount < 0 || kvCount < 0 || tensorCount > size / 32 || kvCount > size / 12) {
                throw new GgufException(path.getFileName() + ": " + Long.toUnsignedString(tensorCount) + " tensors and "
                        + Long.toUnsignedString(kvCount) + " metadata entries cannot fit in " + size + " bytes");
            }
            Map<String, Object> meta = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = r.string("metadata key " + i);
                int type = r.u32("the type of " + key);
                Object value = r.value(type, key, 0);
                if (meta.put(key, value) != null) {
                    throw new GgufException(path.getFileName() + ": metadata key '" + key + "' appears twice");
                }
            }
            long alignment = DEFAULT_ALIGNMENT;
            Object a = meta.get(ALIGNMENT_KEY);
            if (a != null) {
                if (!(a instanceof Number n) || n.longValue() <= 0 || Long.bitCount(n.longValue()) != 1 || n.longValue() > 1 << 20) {
                    throw new GgufException(path.getFileName() + ": " + ALIGNMENT_KEY + " is " + a + "; a power of two up to 1 MiB is needed");
                }
                alignment = n.longValue();
            }
            List<Tensor> infos = new ArrayList<>();
            Map<String, Tensor> byName = new LinkedHashMap<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = r.string("tensor name " + i);
                int dims = r.u32("the dims of tensor " + name);
                if (dims < 1 || dims > 4) {
                    throw new GgufException(path.getFileName() + ": tensor '" + name + "' has " + Integer.toUnsignedString(dims)
                            + " dimensions; 1 to 4 are allowed");
                }
                long[] ne = new long[dims];
                long numel = 1;
                for (int d = 0; d < dims; d++) {
                    ne[d] = r.u64("dimension " + d + " of tensor " + name);
                    if (ne[d] <= 0 || ne[d] > size * 8) {
                        throw new GgufException(path.getFileName() + ": tensor '" + name + "' dimension " + d + " is "
                                + Long.toUnsignedString(ne[d]));
                    }
                    numel = Math.multiplyExact(numel, ne[d]);
                }
                int type = r.u32("the type of tensor " + name);
                long offset = r.u64("the offset of tensor " + name);
                long bytes = byteSize(path, name, type, ne, numel);
                long[] shape = new long[dims];
                for (int d = 0; d < dims; d++) {
                    shape[d] = ne[dims - 1 - d];
                }
                Tensor t = new Tensor(name, shape, type, offset, bytes);
                if (byName.put(name, t) != null) {
                    throw new GgufException(path.getFileName() + ": tensor '" + name + "' appears twice");
                }
                infos.add(t);
            }
            long dataStart = align(r.position(), alignment);
            Map<String, Tensor> located = new LinkedHashMap<>();
            for (Tensor t : infos) {
                if (t.offset() < 0 || t.offset() % alignment != 0) {
                    throw new GgufException(path.getFileName() + ": tensor '" + t.name() + "' starts at " + Long.toUnsignedString(t.offset())
                            + ", not a multiple of the alignment " + alignment);
                }
                long start = dataStart + t.offset();
                if (start < dataStart || start > size || t.bytes() > size - start) {
                    throw new GgufException(path.getFileName() + " is truncated: tensor '" + t.name() + "' needs bytes " + start + " to "
                            + (start + t.bytes()) + " but the file has " + size);
                }
                located.put(t.name(), new Tensor(t.name(), t.shape(), t.ggmlType(), start, t.bytes()));
            }
            return new GgufFile(path, ch, size, Collections.unmodifiableMap(meta), Collections.unmodifiableMap(located));
        } catch (GgufException | ArithmeticException e) {
            closeQuietly(ch);
            if (e instanceof ArithmeticException) {
                throw new GgufException(path.getFileName() + ": a tensor's size overflows", e);
            }
            throw e;
        } catch (IOException e) {
            closeQuietly(ch);
            throw new GgufException(path + " cannot be read: " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the open failed already
        }
    }

    public static long align(long v, long alignment) {
        return (v + alignment - 1) / alignment * alignment;
    }

    /** Bytes of a tensor of {@code numel} elements of ggml type {@code type}; unknown types and partial blocks are errors. */
    static long byteSize(Path path, String name, int type, long[] ne, long numel) {
        if (type == GGML_F32) {
            return Math.multiplyExact(numel, 4);
        }
        if (type == GGML_F16) {
            return Math.multiplyExact(numel, 2);
        }
        QuantFormat f = QuantFormat.ofGgmlType(type);
        if (f == null) {
            throw new GgufException(path.getFileName() + ": tensor '" + name + "' has ggml type " + Integer.toUnsignedString(type)
                    + ", which this app does not read (F32 0, F16 1, Q8_0 8, Q4_K 12)");
        }
        if (ne[0] % f.blockSize != 0) {
            throw new GgufException(path.getFileName() + ": tensor '" + name + "' rows of " + ne[0] + " are not a whole number of " + f
                    + " blocks of " + f.blockSize);
        }
        return Math.multiplyExact(numel / f.blockSize, f.blockBytes);
    }

    public Path path() {
        return path;
    }

    public Map<String, Object> metadata() {
        return metadata;
    }

    /** A metadata string, or null when absent or not a string. */
    public String string(String key) {
        return metadata.get(key) instanceof String s ? s : null;
    }

    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** A tensor's bytes, read now. */
    public byte[] read(Tensor t) {
        if (t.bytes() > Integer.MAX_VALUE - 8) {
            throw new GgufException(path.getFileName() + ": tensor '" + t.name() + "' (" + t.bytes() + " bytes) is too large for one array");
        }
        byte[] out = new byte[(int) t.bytes()];
        ByteBuffer b = ByteBuffer.wrap(out);
        long pos = t.offset();
        try {
            while (b.hasRemaining()) {
                int n = FileReads.read(channel, b, pos);
                if (n < 0) {
                    throw new GgufException(path.getFileName() + " ended inside tensor '" + t.name() + "' (it shrank after it was opened)");
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new GgufException(path.getFileName() + ": reading tensor '" + t.name() + "' failed: " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public QuantizedMatrix matrix(String key, QuantFormat format, long rows, long cols) {
        Tensor t = tensors.get(key);
        if (t == null) {
            return null;
        }
        if (t.ggmlType() != format.ggmlType || t.shape().length != 2 || t.shape()[0] != rows || t.shape()[1] != cols) {
            QuantFormat stored = QuantFormat.ofGgmlType(t.ggmlType());
            throw new GgufException(path.getFileName() + ": tensor '" + key + "' is " + (stored != null ? stored : "ggml type " + t.ggmlType())
                    + " " + Arrays.toString(t.shape()) + " but the model needs " + format + " [" + rows + ", " + cols + "]");
        }
        return new QuantizedMatrix(format, (int) rows, (int) cols, read(t));
    }

    @Override
    public String describe() {
        return path + " (GGUF, " + tensors.size() + " tensors)";
    }

    public long size() {
        return size;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    /** Sequential reads of the header, each checked against the file's size. */
    private static final class Reader {
        private final Path path;
        private final FileChannel ch;
        private final long size;
        private long pos;
        private final ByteBuffer small = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Reader(Path path, FileChannel ch, long size) {
            this.path = path;
            this.ch = ch;
            this.size = size;
        }

        long position() {
            return pos;
        }

        private ByteBuffer take(int n, String what) throws IOException {
            if (n > size - pos) {
                throw new GgufException(path.getFileName() + " is truncated: " + what + " needs " + n + " bytes at " + pos + " but the file has "
                        + size);
            }
            ByteBuffer b = n <= 8 ? small.clear().limit(n) : ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
            long p = pos;
            while (b.hasRemaining()) {
                int r = FileReads.read(ch, b, p);
                if (r < 0) {
                    throw new GgufException(path.getFileName() + " is truncated at " + p + " (" + what + ")");
                }
                p += r;
            }
            pos += n;
            return b.flip();
        }

        int u32(String what) throws IOException {
            return take(4, what).getInt();
        }

        long u64(String what) throws IOException {
            return take(8, what).getLong();
        }

        String string(String what) throws IOException {
            long n = u64("the length of " + what);
            if (n < 0 || n > size - pos || n > 1 << 20) {
                throw new GgufException(path.getFileName() + ": " + what + " is " + Long.toUnsignedString(n) + " bytes long at " + pos
                        + ", beyond the file (" + size + " bytes) or 1 MiB");
            }
            ByteBuffer b = take((int) n, what);
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(b).toString();
            } catch (CharacterCodingException e) {
                throw new GgufException(path.getFileName() + ": " + what + " at " + (pos - n) + " is not UTF-8");
            }
        }

        Object value(int type, String key, int depth) throws IOException {
            return switch (type) {
                case UINT8, INT8 -> (long) (type == UINT8 ? take(1, key).get() & 0xff : take(1, key).get());
                case UINT16, INT16 -> (long) (type == UINT16 ? take(2, key).getShort() & 0xffff : take(2, key).getShort());
                case UINT32 -> take(4, key).getInt() & 0xffffffffL;
                case INT32 -> (long) take(4, key).getInt();
                case UINT64, INT64 -> take(8, key).getLong();
                case FLOAT32 -> (double) take(4, key).getFloat();
                case FLOAT64 -> take(8, key).getDouble();
                case BOOL -> {
                    byte v = take(1, key).get();
                    if (v != 0 && v != 1) {
                        throw new GgufException(path.getFileName() + ": metadata '" + key + "' is a bool holding " + v);
                    }
                    yield v == 1;
                }
                case STRING -> string("metadata '" + key + "'");
                case ARRAY -> {
                    if (depth > 2) {
                        throw new GgufException(path.getFileName() + ": metadata '" + key + "' nests arrays too deeply");
                    }
                    int itemType = u32("the item type of " + key);
                    long count = u64("the length of " + key);
                    if (count < 0 || count > size - pos) {
                        throw new GgufException(path.getFileName() + ": metadata '" + key + "' claims " + Long.toUnsignedString(count)
                                + " items; the file has " + (size - pos) + " bytes left");
                    }
                    List<Object> items = new ArrayList<>((int) Math.min(count, 1024));
                    for (long i = 0; i < count; i++) {
                        items.add(value(itemType, key + "[" + i + "]", depth + 1));
                    }
                    yield Collections.unmodifiableList(items);
                }
                default -> throw new GgufException(path.getFileName() + ": metadata '" + key + "' has value type "
                        + Integer.toUnsignedString(type) + ", which GGUF does not define");
            };
        }
    }
}
