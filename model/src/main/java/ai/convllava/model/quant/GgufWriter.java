package ai.convllava.model.quant;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Writes a GGUF file (version 3) one tensor at a time, so only one tensor's bytes are in memory: the
 * header and the tensor infos first (every tensor's type and shape are known up front), then each
 * tensor's bytes as they are made. Everything goes to {@code <target>.partial} and is renamed to the
 * target only when complete and synced: a killed or cancelled run leaves no file that could later be
 * read as good (and the next run starts over).
 */
public final class GgufWriter implements AutoCloseable {
    /** One tensor to write: its name, its shape as PyTorch orders it ([rows, cols]) and its ggml type. */
    public record Entry(String name, long[] shape, int ggmlType) {
    }

    private final Path target;
    private final Path partial;
    private final FileChannel out;
    private final List<Entry> entries;
    private final List<Long> sizes = new ArrayList<>();
    private final long alignment = GgufFile.DEFAULT_ALIGNMENT;
    private int next;
    private boolean done;

    /**
     * @param metadata string, Long, Double, Boolean values and Lists of strings (written as UINT64, FLOAT64, BOOL, STRING, arrays)
     */
    public GgufWriter(Path target, Map<String, Object> metadata, List<Entry> entries) throws IOException {
        this.target = target;
        this.partial = target.resolveSibling(target.getFileName() + ".partial");
        this.entries = List.copyOf(entries);
        Files.deleteIfExists(partial);
        this.out = FileChannel.open(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            writeHeader(new LinkedHashMap<>(metadata));
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
    }

    private void writeHeader(Map<String, Object> metadata) throws IOException {
        Buf b = new Buf();
        b.u32(GgufFile.MAGIC).u32(GgufFile.VERSION).u64(entries.size()).u64(metadata.size());
        for (Map.Entry<String, Object> kv : metadata.entrySet()) {
            b.string(kv.getKey());
            b.value(kv.getKey(), kv.getValue());
        }
        long offset = 0;
        for (Entry e : entries) {
            b.string(e.name()).u32(e.shape().length);
            long numel = 1;
            for (int d = e.shape().length - 1; d >= 0; d--) { // GGUF's ne[0] is the innermost dimension
                b.u64(e.shape()[d]);
                numel *= e.shape()[d];
            }
            long[] ne = new long[e.shape().length];
            for (int d = 0; d < ne.length; d++) {
                ne[d] = e.shape()[ne.length - 1 - d];
            }
            long bytes = GgufFile.byteSize(target, e.name(), e.ggmlType(), ne, numel);
            sizes.add(bytes);
            b.u32(e.ggmlType()).u64(offset);
            offset = GgufFile.align(offset + bytes, alignment);
        }
        long pad = GgufFile.align(b.size(), alignment) - b.size();
        for (long i = 0; i < pad; i++) {
            b.u8(0);
        }
        write(b.toBuffer());
    }

    /** The next tensor's bytes, in the order the entries were given. */
    public void write(String name, byte[] bytes) throws IOException {
        if (next >= entries.size() || !entries.get(next).name().equals(name)) {
            throw new IllegalStateException("expected tensor " + (next < entries.size() ? entries.get(next).name() : "(none)") + ", got " + name);
        }
        if (bytes.length != sizes.get(next)) {
            throw new IllegalArgumentException("tensor " + name + " must be " + sizes.get(next) + " bytes, got " + bytes.length);
        }
        write(ByteBuffer.wrap(bytes));
        long pad = GgufFile.align(bytes.length, alignment) - bytes.length;
        if (pad > 0) {
            write(ByteBuffer.allocate((int) pad));
        }
        next++;
    }

    private void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    /** Syncs the complete file and renames it to the target. */
    public void finish() throws IOException {
        if (next != entries.size()) {
            throw new IllegalStateException(next + " of " + entries.size() + " tensors were written");
        }
        out.force(true);
        out.close();
        try {
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
        }
        done = true;
    }

    /** Checks {@code cancelled} and, when set, removes the partial file and throws. */
    public void checkCancelled(BooleanSupplier cancelled) {
        if (cancelled.getAsBoolean()) {
            abort();
            throw new CancellationException("writing " + target.getFileName() + " was cancelled");
        }
    }

    private void abort() {
        try {
            out.close();
        } catch (IOException ignored) {
            // removing it matters more
        }
        try {
            Files.deleteIfExists(partial);
        } catch (IOException ignored) {
            // a leftover .partial is never read, and the next run deletes it
        }
    }

    /** Without {@link #finish}: the partial file is removed. */
    @Override
    public void close() {
        if (!done) {
            abort();
        }
    }

    /** A little-endian byte buffer that grows. */
    private static final class Buf {
        private ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void room(int n) {
            if (b.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(b.capacity() * 2, b.position() + n)).order(ByteOrder.LITTLE_ENDIAN);
                b.flip();
                bigger.put(b);
                b = bigger;
            }
        }

        Buf u8(int v) {
            room(1);
            b.put((byte) v);
            return this;
        }

        Buf u32(int v) {
            room(4);
            b.putInt(v);
            return this;
        }

        Buf u64(long v) {
            room(8);
            b.putLong(v);
            return this;
        }

        Buf string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            u64(bytes.length);
            room(bytes.length);
            b.put(bytes);
            return this;
        }

        void value(String key, Object v) {
            if (v instanceof String s) {
                u32(GgufFile.STRING).string(s);
            } else if (v instanceof Long l) {
                u32(GgufFile.UINT64).u64(l);
            } else if (v instanceof Integer i) {
                u32(GgufFile.UINT32).u32(i);
            } else if (v instanceof Double d) {
                u32(GgufFile.FLOAT64).u64(Double.doubleToRawLongBits(d));
            } else if (v instanceof Boolean x) {
                u32(GgufFile.BOOL).u8(x ? 1 : 0);
            } else if (v instanceof List<?> list) {
                u32(GgufFile.ARRAY).u32(GgufFile.STRING).u64(list.size());
                for (Object o : list) {
                    if (!(o instanceof String s)) {
                        throw new IllegalArgumentException("metadata '" + key + "': only lists of strings are written");
                    }
                    string(s);
                }
            } else {
                throw new IllegalArgumentException("metadata '" + key + "': cannot write a " + (v == null ? "null" : v.getClass().getSimpleName()));
            }
        }

        long size() {
            return b.position();
        }

        ByteBuffer toBuffer() {
            ByteBuffer out = b.duplicate();
            out.flip();
            return out;
        }
    }
}
