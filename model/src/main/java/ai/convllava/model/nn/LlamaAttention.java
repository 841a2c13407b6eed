package ai.convllava.model.nn;

import ai.convllava.model.config.LlamaConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * {@code LlamaAttention} with grouped-query attention ({@code num_key_value_heads} may be fewer than
 * the heads; the tiny model has 4 heads over 2 KV heads). Query head h reads KV head h / n_rep, as
 * transformers' {@code repeat_kv} does; we get that without copying K/V by folding the n_rep
 * query heads of a group into the row axis of one matmul.
 */
public final class LlamaAttention {
    private final int layer;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final float scale;
    private final LinearLayer qProj;
    private final LinearLayer kProj;
    private final LinearLayer vProj;
    private final LinearLayer oProj;
    private final ComputePath path;

    public LlamaAttention(Weights w, String prefix, LlamaConfig c, int layer) {
        this.layer = layer;
        this.path = w.computePath();
        this.heads = c.numAttentionHeads();
        this.kvHeads = c.numKeyValueHeads();
        this.headDim = c.headDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        int hid = c.hiddenSize();
        this.qProj = LinearLayer.load(w, prefix + "q_proj", (long) heads * headDim, hid, false);
        this.kProj = LinearLayer.load(w, prefix + "k_proj", (long) kvHeads * headDim, hid, false);
        this.vProj = LinearLayer.load(w, prefix + "v_proj", (long) kvHeads * headDim, hid, false);
        this.oProj = LinearLayer.load(w, prefix + "o_proj", hid, (long) heads * headDim, false);
    }

    /**
     * @param x     (1, T, hidden) normed hidden states of the new positions
     * @param start absolute position of the first new token (= tokens already in the cache)
     * @param mask  additive causal mask (T, start + T), or null when T == 1
     * @param probe records the last query's attention over the image tokens, or null
     */
    public NDArray forward(NDArray x, int start, LlamaRotaryEmbedding rope, KvCache cache, NDArray mask, ImageAttentionProbe probe) {
        // its own scope: q, k, v, the RoPE temporaries, scores and context (~250 MB at T = 638) go when
        // the attention is done, not when the decoder layer is
        return InnerScope.compute(() -> attend(x, start, rope, cache, mask, probe));
    }

    private NDArray attend(NDArray x, int start, LlamaRotaryEmbedding rope, KvCache cache, NDArray mask, ImageAttentionProbe probe) {
        long t = x.getShape().get(1);
        int rep = heads / kvHeads;
        NDArray q = qProj.forward(x).reshape(1, t, heads, headDim).transpose(0, 2, 1, 3); // (1, T, H*D) -> (1, H, T, D)
        NDArray k = kProj.forward(x).reshape(1, t, kvHeads, headDim).transpose(0, 2, 1, 3); // (1, T, KV*D) -> (1, KV, T, D)
        NDArray v = vProj.forward(x).reshape(1, t, kvHeads, headDim).transpose(0, 2, 1, 3);
        q = rope.apply(q, start);
        k = rope.apply(k, start);
        cache.write(layer, k.get(0), v.get(0), start);
        int s = start + (int) t;
        if (t == 1 && cache.attendsInt8Natively()) {
            NDArray ctx = attendInt8(q, cache, s, probe);
            if (ctx != null) {
                return oProj.forward(ctx);
            }
        }
        // (KV, S, D). The CPU path reads an 8-bit cache (8/4-bit weights) widened to float32 (KvCache); the device path reads
        // it in its math type and multiplies in it, as transformers does in float16 (widening the whole
        // cache every step would cost a GPU more than the products)
        DataType math = path.deviceOps() ? path.mathType() : DataType.FLOAT32;
        NDArray keys = cache.keys(layer, s).toType(math, false);
        NDArray values = cache.values(layer, s).toType(math, false);
        NDArray qg = q.reshape(kvHeads, rep * t, headDim).toType(math, false); // (1, H, T, D) -> (KV, rep*T, D): heads of a group stacked on rows
        // scale and mask in place, and the scores freed once softmaxed: at T = 638 each (H, T, S) map is
        // 52 MB, and four of them lived until the layer's scope closed
        // One new position (decode): K q^T reads the cache's (S, D) rows the way a mat-vec reads an [out, in]
        // weight, faster than q K^T (docs/bench/README.md, "Decode attention"); for the probabilities times V
        // the usual order is already the faster one.
        NDArray raw = t == 1
                ? keys.matMul(qg.transpose(0, 2, 1)).transpose(0, 2, 1) // (KV, S, D) x (KV, D, rep) = (KV, S, rep) -> (KV, rep, S)
                : qg.matMul(keys.transpose(0, 2, 1)); // (KV, rep*T, S)
        // float32 from here to the softmax, as transformers' eager attention (softmax(..., dtype=float32))
        NDArray scores = raw.reshape(heads, t, s).toType(DataType.FLOAT32, false).muli(scale); // (KV, rep*T, S) -> (H, T, S)
        if (mask != null) {
            scores.addi(mask);
        }
        NDArray probs = scores.softmax(-1); // float32 softmax, as transformers' eager attention
        scores.close();
        raw.close();
        if (probe != null) {
            NDArray last = probs.get(new NDIndex(":, {}, {}:{}", t - 1, probe.imageStart(), probe.imageStart() + probe.imageTokens())); // (H, N)
            probe.put(layer, last.mean(new int[] {0})); // (N), mean over heads
        }
        NDArray ctx = probs.reshape(kvHeads, rep * t, s).toType(math, false).matMul(values).toType(DataType.FLOAT32, false); // (KV, rep*T, D)
        ctx = ctx.reshape(heads, t, headDim).transpose(1, 0, 2).reshape(1, t, (long) heads * headDim); // (H, T, D) -> (T, H, D) -> (1, T, H*D)
        return oProj.forward(ctx);
    }

    /** Whether {@link #forwardToken} can run: every projection multiplies on Java arrays. */
    boolean matvecOnHeap() {
        return qProj.matvecOnHeap() && kProj.matvecOnHeap() && vProj.matvecOnHeap() && oProj.matvecOnHeap();
    }

    /**
     * One new token on Java arrays ({@link LlamaModel#forwardToken}): x (hidden) normed, at absolute position {@code position},
     * its keys and values written into the 8-bit cache in place and attended over there; returns o_proj's output (hidden).
     * The same steps as {@link #forward} with T = 1: projections, RoPE, cache write, int8 attention, o_proj.
     */
    float[] forwardToken(float[] x, int position, LlamaRotaryEmbedding rope, KvCache cache, ImageAttentionProbe probe, NDManager manager) {
        float[] q = new float[heads * headDim]; // (H, D)
        float[] k = new float[kvHeads * headDim]; // (KV, D)
        float[] v = new float[kvHeads * headDim];
        qProj.matvec(x, q);
        kProj.matvec(x, k);
        vProj.matvec(x, v);
        rope.apply(q, heads, position);
        rope.apply(k, kvHeads, position);
        int n = position + 1;
        float[] ctx = new float[heads * headDim];
        float[] probs = probe != null ? new float[heads * n] : null; // (H, S)
        if (!cache.writeInt8(layer, k, v, position) || !cache.attendInt8(layer, q, heads, n, scale, ctx, probs)) {
            throw new IllegalStateException("layer " + layer + ": libtorch did not hand out the 8-bit cache's memory for the one-token step");
        }
        if (probe != null) {
            recordImageAttention(probe, probs, n, manager);
        }
        float[] out = new float[(int) oProj.outFeatures()];
        oProj.matvec(ctx, out);
        return out;
    }

    /**
     * One new token over the 8-bit cache's int8 rows in place ({@link KvCache#attendInt8}): (1, 1, H*D), or null when the
     * cache's memory could not be read in place (the caller then takes the libtorch path).
     */
    private NDArray attendInt8(NDArray q, KvCache cache, int s, ImageAttentionProbe probe) {
        float[] qf = q.toFloatArray(); // (1, H, 1, D): heads in order
        float[] out = new float[heads * headDim];
        float[] probs = probe != null ? new float[heads * s] : null;
        if (!cache.attendInt8(layer, qf, heads, s, scale, out, probs)) {
            return null;
        }
        if (probe != null) {
            recordImageAttention(probe, probs, s, q.getManager());
        }
        return HeapArrays.toTensor(q.getManager(), out, new Shape(1, 1, (long) heads * headDim)); // (H, D) -> (1, 1, H*D)
    }

    /** Records the new token's probabilities {@code probs} (H, n) over the image tokens, mean over heads, for the heatmap. */
    private void recordImageAttention(ImageAttentionProbe probe, float[] probs, int n, NDManager manager) {
        float[] mean = new float[probe.imageTokens()];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < mean.length; j++) {
                mean[j] += probs[h * n + probe.imageStart() + j];
            }
        }
        for (int j = 0; j < mean.length; j++) {
            mean[j] /= heads;
        }
        probe.put(layer, manager.create(mean)); // (N)
    }
}
