package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.core.Linear;

/** Float16 weights on a GPU: the product in float16 (what GPUs are fast at), x and y float32 around it. */
final class HalfGpuLinearLayer implements LinearLayer {
    private final NDArray weight;
    private final NDArray bias;

    HalfGpuLinearLayer(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
    }

    @Override
    public NDArray forward(NDArray x, boolean exact) {
        NDArray y = Linear.linear(x.toType(DataType.FLOAT16, false), weight).singletonOrThrow().toType(DataType.FLOAT32, false);
        return bias == null ? y : y.add(bias);
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
        return new F32LinearLayer(weight.toType(DataType.FLOAT32, false), bias);
    }

    @Override
    public void closeIfCopyOf(LinearLayer original) {
    }
}
