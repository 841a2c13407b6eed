package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;

import java.util.Arrays;

/**
 * Where the image tokens sit in the sequence, and what was recorded for the current step: for the
 * step's last query position, the attention probabilities over the image tokens, per layer, mean
 * over heads. Created per forward pass only when recording is on, so generation pays nothing when
 * it is off.
 */
public final class ImageAttentionProbe {
    private final int imageStart;
    private final int imageTokens;
    private final NDArray[] perLayer;

    public ImageAttentionProbe(int imageStart, int imageTokens, int layers) {
        this.imageStart = imageStart;
        this.imageTokens = imageTokens;
        this.perLayer = new NDArray[layers];
    }

    public int imageStart() {
        return imageStart;
    }

    public int imageTokens() {
        return imageTokens;
    }

    /**
     * Keeps layer {@code layer}'s (image tokens) probabilities on the device, outside the layer's
     * scope; {@link #values()} copies all layers to Java in one transfer per step.
     */
    void put(int layer, NDArray probs) {
        NDScope.unregister(probs);
        perLayer[layer] = probs;
    }

    /** Frees whatever was recorded and not read (a step cancelled between layers). */
    public void release() {
        for (int i = 0; i < perLayer.length; i++) {
            if (perLayer[i] != null) {
                perLayer[i].close();
                perLayer[i] = null;
            }
        }
    }

    /** (layers, image tokens); releases the recorded arrays. */
    public float[][] values() {
        NDList recorded = new NDList();
        for (NDArray a : perLayer) {
            if (a == null) {
                throw new IllegalStateException("attention was not recorded for every layer");
            }
            recorded.add(a);
        }
        try (NDArray stacked = NDArrays.stack(recorded)) { // (layers, image tokens)
            float[] flat = stacked.toFloatArray();
            float[][] out = new float[perLayer.length][imageTokens];
            for (int l = 0; l < out.length; l++) {
                System.arraycopy(flat, l * imageTokens, out[l], 0, imageTokens);
            }
            return out;
        } finally {
            recorded.close();
            Arrays.fill(perLayer, null);
        }
    }
}
