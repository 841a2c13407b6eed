package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Rotary position embedding in transformers' {@code rotate_half} layout (not the adjacent-pair
 * layout of GGUF ports): inv_freq = 1 / theta^(2i/d), emb = cat(freqs, freqs),
 * q' = q * cos + rotate_half(q) * sin with rotate_half(x) = cat(-x2, x1). The cos/sin tables are
 * computed in float32 as transformers does and cover max_position_embeddings.
 */
public final class LlamaRotaryEmbedding {
    private final int headDim;
    private final NDArray cos;
    private final NDArray sin;
    private final int maxPositions;
    private final float[] invFreq;

    public LlamaRotaryEmbedding(NDManager manager, int headDim, double theta, int maxPositions) {
        this.headDim = headDim;
        this.maxPositions = maxPositions;
        int half = headDim / 2;
        this.invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            // torch: 1.0 / (base ** (arange(0, dim, 2).float() / dim)), in float32
            float exponent = (float) (2 * i) / headDim;
            invFreq[i] = 1.0f / (float) Math.pow((float) theta, exponent);
        }
        float[] c = new float[maxPositions * headDim];
        float[] s = new float[maxPositions * headDim];
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                float f = (float) p * invFreq[i];
                float cf = (float) Math.cos(f);
                float sf = (float) Math.sin(f);
                c[p * headDim + i] = cf;
                c[p * headDim + i + half] = cf;
                s[p * headDim + i] = sf;
                s[p * headDim + i + half] = sf;
            }
        }
        this.cos = manager.create(c, new Shape(maxPositions, headDim));
        this.sin = manager.create(s, new Shape(maxPositions, headDim));
    }

    public int maxPositions() {
        return maxPositions;
    }

    /** x (1, heads, T, D) at absolute positions [start, start + T) -> rotated, same shape. */
    public NDArray apply(NDArray x, int start) {
        long t = x.getShape().get(2);
        NDArray c = cos.get(new NDIndex("{}:{}", start, start + t)); // (T, D), broadcast over heads
        NDArray s = sin.get(new NDIndex("{}:{}", start, start + t));
        int half = headDim / 2;
        NDArray x1 = x.get(new NDIndex("..., :{}", half));
        NDArray x2 = x.get(new NDIndex("..., {}:", half));
        NDArray rotated = x2.neg().concat(x1, -1); // rotate_half
        return x.mul(c).add(rotated.mul(s));
    }

    /**
     * One position's {@code heads} rows of head_dim values in {@code x}, rotated in place ({@link LlamaModel#forwardToken}):
     * the same float32 cos/sin as the tables and the same products and sum as {@link #apply(NDArray, int)}.
     */
    public void apply(float[] x, int heads, int position) {
        if (position < 0 || position >= maxPositions || x.length < heads * headDim) {
            throw new IllegalArgumentException("RoPE at position " + position + " of " + maxPositions + " over " + heads + " heads of "
                    + headDim + ", got " + x.length + " values");
        }
        int half = headDim / 2;
        for (int i = 0; i < half; i++) {
            float f = (float) position * invFreq[i];
            float c = (float) Math.cos(f);
            float s = (float) Math.sin(f);
            for (int h = 0; h < heads; h++) {
                int o = h * headDim + i;
                float x1 = x[o];
                float x2 = x[o + half];
                x[o] = x1 * c + -x2 * s; // rotate_half puts -x2 in the first half, x1 in the second
                x[o + half] = x2 * c + x1 * s;
            }
        }
    }
}
