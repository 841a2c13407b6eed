package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;

/** {@code LlamaRMSNorm}: weight * x / sqrt(mean(x^2, -1) + eps), in float32. */
public final class LlamaRMSNorm {
    private final NDArray weight;
    private final float eps;
    /** The weight on the Java heap, copied when the one-token step first needs it. */
    private volatile float[] weightValues;

    public LlamaRMSNorm(Weights w, String key, int hidden, double eps) {
        this.weight = w.f32(key, hidden);
        this.eps = (float) eps;
    }

    public NDArray forward(NDArray x) {
        return InnerScope.compute(() -> { // the (T, hidden) temporaries go now
            NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
            return x.div(rms).mul(weight);
        });
    }

    /**
     * One row on Java arrays ({@link LlamaModel#forwardToken}): out = x / rms * weight with the same float32 steps as
     * {@link #forward(NDArray)}; the mean of squares is summed in double, where libtorch sums float32 in its own order.
     */
    public void forward(float[] x, float[] out) {
        float[] w = weightValues;
        if (w == null) {
            w = weight.toFloatArray();
            weightValues = w;
        }
        if (x.length != w.length || out.length != w.length) {
            throw new IllegalArgumentException("RMSNorm of " + w.length + " values, got " + x.length + " in and " + out.length + " out");
        }
        double sum = 0;
        for (float v : x) {
            sum += (double) v * v;
        }
        float rms = (float) Math.sqrt((float) (sum / x.length) + eps);
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] / rms * w[i];
        }
    }
}
