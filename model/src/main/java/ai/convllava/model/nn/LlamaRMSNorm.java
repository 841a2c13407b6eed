package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;

/** {@code LlamaRMSNorm}: weight * x / sqrt(mean(x^2, -1) + eps), in float32. */
public final class LlamaRMSNorm {
    private final NDArray weight;
    private final float eps;

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
}
