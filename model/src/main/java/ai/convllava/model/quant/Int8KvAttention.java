package ai.convllava.model.quant;

import java.nio.ByteBuffer;

/**
 * One new token's attention over an 8-bit KV cache on the native kernels ({@link NativeKernels}): each head's scores,
 * softmax and weighted sum of values read the cache's int8 rows in place. The libtorch path widens the whole cache to
 * float32 for every layer of every token (KvCache), which at a few hundred positions took about a quarter of a
 * token's time (docs/bench/quant.md, "Decode attention"). Same arithmetic: float32, the same int8 values times the
 * same scales; the exponential is a vectorized polynomial within 2 ulps, as libtorch's.
 */
public final class Int8KvAttention {
    /** KV heads a thread takes at a time. */
    private static final int CHUNK = 4;

    private Int8KvAttention() {
    }

    /** Whether it runs here for heads of {@code headDim} values (the kernels read them 8 at a time). */
    public static boolean available(int headDim) {
        return NativeKernels.available() && headDim % 8 == 0;
    }

    /**
     * @param q           (heads, headDim) the new token's queries, after RoPE
     * @param keys        direct buffer over the layer's (kvHeads, capacity, headDim) int8 keys; {@code values} likewise
     * @param keyScales   direct buffer over the (kvHeads, capacity) float32 scales of the keys; {@code valueScales} likewise
     * @param n           positions to attend to (the new one included), at most {@code capacity}
     * @param scale       1 / sqrt(headDim)
     * @param out         (heads, headDim) the attention's output, heads in order (before o_proj)
     * @param probs       (heads, n) receives the probabilities (the heatmap's), or null
     */
    public static void attend(float[] q, int heads, int kvHeads, int headDim, ByteBuffer keys, ByteBuffer keyScales, ByteBuffer values,
            ByteBuffer valueScales, int capacity, int n, float scale, float[] out, float[] probs) {
        long kv = (long) kvHeads * capacity;
        if (!available(headDim) || kvHeads <= 0 || heads % kvHeads != 0 || n < 1 || n > capacity || q.length < heads * headDim
                || out.length < heads * headDim || (probs != null && probs.length < (long) heads * n)) {
            throw new IllegalArgumentException("int8 attention: " + heads + " heads over " + kvHeads + " KV heads of " + headDim + ", " + n
                    + " of " + capacity + " positions, " + q.length + " query and " + out.length + " output values"
                    + (available(headDim) ? "" : " (" + NativeKernels.status() + ")"));
        }
        checkBuffer("keys", keys, kv * headDim);
        checkBuffer("values", values, kv * headDim);
        checkBuffer("key scales", keyScales, kv * Float.BYTES);
        checkBuffer("value scales", valueScales, kv * Float.BYTES);
        int rep = heads / kvHeads;
        RowPool.forRows(kvHeads, CHUNK, (g0, g1) -> NativeKernels.attendInt8Heads(q, keys, keyScales, values, valueScales, capacity, n, headDim, rep,
                g0, g1, scale, out, probs));
    }

    private static void checkBuffer(String what, ByteBuffer b, long bytes) {
        if (b == null || !b.isDirect() || b.capacity() < bytes) {
            throw new IllegalArgumentException("int8 attention: the cache's " + what + " need a direct buffer of " + bytes + " bytes, got "
                    + (b == null ? "none" : (b.isDirect() ? "" : "a heap buffer of ") + b.capacity() + " bytes"));
        }
    }
}
