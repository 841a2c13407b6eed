package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

/** {@code LlamaRMSNorm}: weight * x / sqrt(mean(x^2, -1) + eps), in float32. */
public final class LlamaRMSNorm {
    private final NDArray weight;
    private final float eps;

    public LlamaRMSNorm(Weights w, String key, int hidden, double eps) {
        this.weight = w.f32(key, hidden);
        this.eps = (float) eps;
    }

    public NDArray forward(NDArray x) {
        NDArray out;
        try (NDScope scope = new NDScope()) { // the (T, hidden) temporaries go now
            NDArray rms = x.square().mean(new int[] {-1}, true).add(eps).sqrt();
            out = x.div(rms).mul(weight);
            NDScope.unregister(out); // created in (so registered only with) the inner scope...
        }
        NDScope.register(out); // ...so hand it to the caller's scope
        return out;
    }
}
