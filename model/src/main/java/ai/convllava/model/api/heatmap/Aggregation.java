package ai.convllava.model.api.heatmap;

import java.util.Arrays;

/**
 * How one query's attention (layers, image tokens) becomes one map over the image tokens: the mean over
 * all layers (the default), one chosen layer, or the max over layers.
 *
 * @param layer the layer index (as in {@code model.layers.N}) when {@code kind} is LAYER, else -1
 */
public record Aggregation(Kind kind, int layer) {
    public enum Kind { MEAN, LAYER, MAX }

    public static final Aggregation MEAN = new Aggregation(Kind.MEAN, -1);
    public static final Aggregation MAX = new Aggregation(Kind.MAX, -1);

    public Aggregation {
        if (kind == null) {
            throw new IllegalArgumentException("aggregation kind is required");
        }
        if (kind == Kind.LAYER ? layer < 0 : layer != -1) {
            throw new IllegalArgumentException("a layer index goes with LAYER only, and LAYER needs one >= 0 (got kind="
                    + kind + ", layer=" + layer + ")");
        }
    }

    public static Aggregation layer(int layer) {
        return new Aggregation(Kind.LAYER, layer);
    }

    /** (layers, N) -> (N). */
    public float[] apply(float[][] perLayer) {
        if (perLayer.length == 0) {
            throw new IllegalArgumentException("no layers recorded");
        }
        int n = perLayer[0].length;
        float[] out = new float[n];
        switch (kind) {
            case LAYER:
                if (layer >= perLayer.length) {
                    throw new IllegalArgumentException("layer " + layer + " does not exist (the model has " + perLayer.length + " layers)");
                }
                System.arraycopy(perLayer[layer], 0, out, 0, n);
                return out;
            case MAX:
                Arrays.fill(out, Float.NEGATIVE_INFINITY);
                for (float[] l : perLayer) {
                    for (int i = 0; i < n; i++) {
                        out[i] = Math.max(out[i], l[i]);
                    }
                }
                return out;
            default:
                double[] sum = new double[n];
                for (float[] l : perLayer) {
                    for (int i = 0; i < n; i++) {
                        sum[i] += l[i];
                    }
                }
                for (int i = 0; i < n; i++) {
                    out[i] = (float) (sum[i] / perLayer.length);
                }
                return out;
        }
    }

    /** For the UI and exports: "mean over layers", "layer 3", "max over layers". */
    public String describe() {
        switch (kind) {
            case LAYER:
                return "layer " + layer;
            case MAX:
                return "max over layers";
            default:
                return "mean over layers";
        }
    }
}
