package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.core.Linear;

/** Float32 weights: libtorch's addmm ({@code Linear.linear} maps {@code [out, in]} onto it without a transpose). */
final class F32LinearLayer implements LinearLayer {
    private final NDArray weight;
    private final NDArray bias;

    F32LinearLayer(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
    }

    @Override
    public NDArray forward(NDArray x, boolean exact) {
        return Linear.linear(x, weight, bias).singletonOrThrow();
    }

    @Override
    public long outFeatures() {
        return weight.getShape().get(0);
    }

    @Override
    public long inFeatures() {
        return weight.getShape().get(1);
    }

    @Override
    public LinearLayer float32() {
        return this;
    }

    @Override
    public void closeIfCopyOf(LinearLayer original) {
        if (this != original) {
            weight.close();
        }
    }
}
