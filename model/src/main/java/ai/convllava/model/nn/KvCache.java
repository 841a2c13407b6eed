package ai.convllava.model.nn;

import ai.convllava.model.quant.Int8KvAttention;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Per-layer key/value cache, preallocated (KV heads, capacity, head_dim) and written in place with
 * {@code set(slice)} (much faster per step than concatenating, docs/bench/README.md). Grows by doubling, up to
 * max_position_embeddings, when a conversation outgrows it. Owns its own NDManager: a conversation
 * holds one cache; closing it frees the memory.
 *
 * <p>With type {@link DataType#INT8} (beside 8-bit and 4-bit weights) each position's key and value of
 * each head are held as 8-bit integers with one float32 scale (absmax / 127: ggml's Q8_0 scheme over a
 * head's values instead of 32): about half of float16's memory; they are widened to float32 when read.
 */
public final class KvCache implements AutoCloseable {
    private final NDManager manager;
    private final int layers;
    private final int kvHeads;
    private final int headDim;
    private final int maxCapacity;
    private final DataType type;
    private final NDArray[] keys;
    private final NDArray[] values;
    /** INT8 only: (KV heads, capacity, 1) float32 scales of the keys and values, else null. */
    private final NDArray[] keyScales;
    private final NDArray[] valueScales;
    /** INT8 on the CPU: per layer, direct buffers over keys, key scales, values, value scales; made when first used, dropped when the cache grows. */
    private final ByteBuffer[][] direct;
    private int capacity;
    private int length;

    public KvCache(NDManager parent, int layers, int kvHeads, int headDim, int initialCapacity, int maxCapacity, DataType type) {
        this.manager = parent.newSubManager();
        this.layers = layers;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.maxCapacity = maxCapacity;
        this.type = type;
        this.keys = new NDArray[layers];
        this.values = new NDArray[layers];
        boolean int8 = type == DataType.INT8;
        this.keyScales = int8 ? new NDArray[layers] : null;
        this.valueScales = int8 ? new NDArray[layers] : null;
        this.direct = new ByteBuffer[layers][];
        this.capacity = Math.min(Math.max(16, initialCapacity), maxCapacity);
        for (int l = 0; l < layers; l++) {
            keys[l] = buffer(capacity, headDim, type);
            values[l] = buffer(capacity, headDim, type);
            if (int8) {
                keyScales[l] = buffer(capacity, 1, DataType.FLOAT32);
                valueScales[l] = buffer(capacity, 1, DataType.FLOAT32);
            }
        }
    }


    /** Tokens held (the next write position). */
    public int length() {
        return length;
    }

    /** Where the cache lives: the model's device (a GPU's memory on the device path). */
    public ai.djl.Device device() {
        return manager.getDevice();
    }

    /** The type the keys and values are held in. */
    public DataType type() {
        return type;
    }

    public int maxCapacity() {
        return maxCapacity;
    }

    /** Forgets everything from {@code newLength} on (e.g. to re-answer from an earlier point). */
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("truncate to " + newLength + " of " + length);
        }
        length = newLength;
    }

    /** Makes room for {@code extra} more tokens, doubling the buffers if needed. */
    public void reserve(int extra) {
        long needed = (long) length + extra;
        if (needed > maxCapacity) {
            throw new IllegalStateException("context of " + needed + " tokens exceeds max_position_embeddings=" + maxCapacity);
        }
        if (needed <= capacity) {
            return;
        }
        int next = capacity;
        while (next < needed) {
            next = (int) Math.min((long) next * 2, maxCapacity);
        }
        for (int l = 0; l < layers; l++) {
            keys[l] = grow(keys[l], next);
            values[l] = grow(values[l], next);
            if (keyScales != null) {
                keyScales[l] = grow(keyScales[l], next);
                valueScales[l] = grow(valueScales[l], next);
            }
        }
        capacity = next;
        java.util.Arrays.fill(direct, null); // over the freed buffers
    }

    /**
     * A cache buffer that outlives any NDScope open at the time (the cache may grow in the middle
     * of a prefill, inside a layer's scope); the cache's own manager frees it.
     */
    private NDArray buffer(int positions, long width, DataType t) {
        NDArray b = manager.zeros(new Shape(kvHeads, positions, width), t);
        NDScope.unregister(b);
        return b;
    }

    private NDArray grow(NDArray old, int next) {
        NDArray bigger = buffer(next, old.getShape().get(2), old.getDataType());
        if (length > 0) {
            bigger.set(new NDIndex(":, :{}, :", length), old.get(new NDIndex(":, :{}, :", length)));
        }
        old.close();
        return bigger;
    }

    /** Writes k, v (KV heads, T, D) at [start, start + T) of layer {@code l}. */
    void write(int l, NDArray k, NDArray v, int start) {
        long t = k.getShape().get(1);
        NDIndex at = new NDIndex(":, {}:{}, :", start, start + t);
        if (keyScales == null) {
            keys[l].set(at, k.toType(type, false));
            values[l].set(at, v.toType(type, false));
        } else {
            quantize(k, keys[l], keyScales[l], at);
            quantize(v, values[l], valueScales[l], at);
        }
    }

    /** x (KV, T, D) as int8 q and float32 scale s per (head, position): s = max|x| / 127, q = round(x / s). */
    private static void quantize(NDArray x, NDArray q, NDArray scales, NDIndex at) {
        try (NDScope scope = new NDScope()) {
            NDArray f = x.toType(DataType.FLOAT32, false);
            NDArray s = f.abs().max(new int[] {2}, true).divi(127f); // (KV, T, 1)
            // an all-zero row has scale 0: its quotients are 0 / tiny = 0, not NaN
            NDArray q8 = f.div(s.maximum(Float.MIN_NORMAL)).round().toType(DataType.INT8, false);
            q.set(at, q8);
            scales.set(at, s);
        }
    }

    NDArray keys(int l, int len) {
        return read(keys[l], keyScales == null ? null : keyScales[l], len);
    }

    NDArray values(int l, int len) {
        return read(values[l], valueScales == null ? null : valueScales[l], len);
    }

    /** The first {@code len} positions; an int8 cache widened to float32 times its scales. */
    private static NDArray read(NDArray held, NDArray scales, int len) {
        NDIndex first = new NDIndex(":, :{}, :", len);
        NDArray x = held.get(first);
        return scales == null ? x : x.toType(DataType.FLOAT32, false).muli(scales.get(first)); // (KV, len, D) * (KV, len, 1)
    }

    /** Whether {@link #attendInt8} runs here: an 8-bit cache on the CPU and the native kernels loaded. */
    boolean attendsInt8Natively() {
        return type == DataType.INT8 && !device().isGpu() && Int8KvAttention.available(headDim);
    }

    /** Whether {@link #writeInt8} and {@link #attendInt8} both run: {@link #attendsInt8Natively}, and libtorch hands out the cache's memory. */
    boolean int8InPlace() {
        return attendsInt8Natively() && direct(0) != null;
    }

    /**
     * One new token's attention in layer {@code l} over the first {@code n} positions, read in place from the 8-bit
     * cache ({@link Int8KvAttention}); false, with nothing written, when libtorch does not hand out the cache's memory.
     */
    boolean attendInt8(int l, float[] q, int heads, int n, float scale, float[] out, float[] probs) {
        ByteBuffer[] b = direct(l);
        if (b == null) {
            return false;
        }
        Int8KvAttention.attend(q, heads, kvHeads, headDim, b[0], b[1], b[2], b[3], capacity, n, scale, out, probs);
        return true;
    }

    /** Layer {@code l}'s keys, key scales, values and value scales as direct buffers over libtorch's memory, or null where it does not hand them out. */
    private ByteBuffer[] direct(int l) {
        ByteBuffer[] b = direct[l];
        if (b == null) {
            b = new ByteBuffer[] {keys[l].toByteBuffer(true), keyScales[l].toByteBuffer(true), values[l].toByteBuffer(true),
                    valueScales[l].toByteBuffer(true)};
            for (int i = 0; i < b.length; i++) {
                if (!b[i].isDirect()) {
                    return null;
                }
                b[i].order(ByteOrder.nativeOrder()); // libtorch's floats
            }
            direct[l] = b;
        }
        return b;
    }

    /**
     * Writes one position's keys and values, (KV heads, D) each, of layer {@code l} into the 8-bit cache in place (the one-token
     * step, {@link LlamaModel#forwardToken}): the same int8 values and scales as {@link #write}; false, with nothing written,
     * when libtorch does not hand out the cache's memory.
     */
    boolean writeInt8(int l, float[] k, float[] v, int position) {
        if (keyScales == null || position < 0 || position >= capacity || k.length != kvHeads * headDim || v.length != k.length) {
            throw new IllegalArgumentException("8-bit cache write at " + position + " of " + capacity + " positions: " + kvHeads + " heads of "
                    + headDim + " expected, got " + k.length + " keys and " + v.length + " values" + (keyScales == null ? " (not an 8-bit cache)" : ""));
        }
        ByteBuffer[] b = direct(l);
        if (b == null) {
            return false;
        }
        for (int h = 0; h < kvHeads; h++) {
            int at = h * capacity + position;
            quantize(k, h * headDim, headDim, b[0], at * headDim, b[1], at * Float.BYTES);
            quantize(v, h * headDim, headDim, b[2], at * headDim, b[3], at * Float.BYTES);
        }
        return true;
    }

    /** {@link #quantize(NDArray, NDArray, NDArray, NDIndex)}'s arithmetic for one head's row: s = max|x| / 127, q = rint(x / s). */
    private static void quantize(float[] x, int off, int n, ByteBuffer q, int qAt, ByteBuffer scales, int sAt) {
        float amax = 0;
        for (int i = 0; i < n; i++) {
            amax = Math.max(amax, Math.abs(x[off + i]));
        }
        float s = amax / 127f;
        float div = Math.max(s, Float.MIN_NORMAL); // an all-zero row: 0 / tiny = 0
        for (int i = 0; i < n; i++) {
            q.put(qAt + i, (byte) Math.rint(x[off + i] / div)); // torch.round rounds half to even, as rint
        }
        scales.putFloat(sAt, s);
    }

    /** Called after all layers wrote T new positions. */
    void advance(int t) {
        length += t;
    }

    @Override
    public void close() {
        manager.close();
    }
}
