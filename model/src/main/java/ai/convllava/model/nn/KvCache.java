package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Per-layer key/value cache, preallocated (KV heads, capacity, head_dim) and written in place with
 * {@code set(slice)} (much faster per step than concatenating, docs/bench/README.md). Grows by doubling, up to
 * max_position_embeddings, when a conversation outgrows it. Owns its own NDManager: a conversation
 * holds one cache; closing it frees the memory.
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
        this.capacity = Math.min(Math.max(16, initialCapacity), maxCapacity);
        for (int l = 0; l < layers; l++) {
            keys[l] = buffer(capacity);
            values[l] = buffer(capacity);
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
        }
        capacity = next;
    }

    /**
     * A cache buffer that outlives any NDScope open at the time (the cache may grow in the middle
     * of a prefill, inside a layer's scope); the cache's own manager frees it.
     */
    private NDArray buffer(int positions) {
        NDArray b = manager.zeros(new Shape(kvHeads, positions, headDim), type);
        NDScope.unregister(b);
        return b;
    }

    private NDArray grow(NDArray old, int next) {
        NDArray bigger = buffer(next);
        if (length > 0) {
            bigger.set(new NDIndex(":, :{}, :", length), old.get(new NDIndex(":, :{}, :", length)));
        }
        old.close();
        return bigger;
    }

    /** Writes k, v (KV heads, T, D) at [start, start + T) of layer {@code l}. */
    void write(int l, NDArray k, NDArray v, int start) {
        long t = k.getShape().get(1);
        keys[l].set(new NDIndex(":, {}:{}, :", start, start + t), k.toType(type, false));
        values[l].set(new NDIndex(":, {}:{}, :", start, start + t), v.toType(type, false));
    }

    NDArray keys(int l, int len) {
        return keys[l].get(new NDIndex(":, :{}, :", len));
    }

    NDArray values(int l, int len) {
        return values[l].get(new NDIndex(":, :{}, :", len));
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
