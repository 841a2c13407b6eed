package ai.convllava.model.nn;

/**
 * Where the image tokens sit in the sequence, and what was recorded for the current step: for the
 * step's last query position, the attention probabilities over the image tokens, per layer, mean
 * over heads. Created per forward pass only when recording is on, so generation pays nothing when
 * it is off.
 */
public final class ImageAttentionProbe {
    private final int imageStart;
    private final int imageTokens;
    private final float[][] perLayer;

    public ImageAttentionProbe(int imageStart, int imageTokens, int layers) {
        this.imageStart = imageStart;
        this.imageTokens = imageTokens;
        this.perLayer = new float[layers][];
    }

    public int imageStart() {
        return imageStart;
    }

    public int imageTokens() {
        return imageTokens;
    }

    void put(int layer, float[] probs) {
        perLayer[layer] = probs;
    }

    /** (layers, image tokens). */
    public float[][] values() {
        float[][] out = new float[perLayer.length][];
        for (int i = 0; i < out.length; i++) {
            out[i] = perLayer[i] == null ? null : perLayer[i].clone();
        }
        return out;
    }
}
