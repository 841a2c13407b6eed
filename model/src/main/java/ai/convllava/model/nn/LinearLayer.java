package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.core.Linear;

/**
 * {@code nn.Linear}: y = x W^T + b with W stored {@code [out, in]} (the layout DJL's
 * {@code Linear.linear} maps onto torch's addmm without a transpose; {@code [in, out]} measured 37x
 * slower). x and y are float32. With float16 weights, one or a few rows run in float16 (decode:
 * half the bytes read); many rows upcast W to float32 for the matmul (prefill: f16 GEMM is slow on CPU).
 */
public final class LinearLayer {
    /** Up to this many rows use the float16 mat-vec path when W is float16. */
    static final long F16_ROWS = 4;

    private final NDArray weight;
    private final NDArray bias;

    public LinearLayer(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
    }

    /** Loads {@code prefix.weight} ([out, in]) and, when {@code withBias}, {@code prefix.bias}. */
    public static LinearLayer load(Weights w, String prefix, long out, long in, boolean withBias) {
        NDArray weight = w.linear(prefix + ".weight", out, in);
        NDArray bias = withBias ? w.f32(prefix + ".bias", out) : null;
        return new LinearLayer(weight, bias);
    }

    public NDArray forward(NDArray x) {
        return forward(x, false);
    }

    /**
     * @param exact compute in float32 even for few rows (weights upcast); the prefill's logits use
     *              this so that the first token is chosen from float32 logits whatever the storage
     */
    public NDArray forward(NDArray x, boolean exact) {
        if (weight.getDataType() == DataType.FLOAT32) {
            return Linear.linear(x, weight, bias).singletonOrThrow();
        }
        long rows = x.getShape().size() / x.getShape().getShape()[x.getShape().dimension() - 1];
        if (rows <= F16_ROWS && !exact && !weight.getDevice().isGpu()) {
            NDArray y = Linear.linear(x.toType(weight.getDataType(), false), weight).singletonOrThrow().toType(DataType.FLOAT32, false);
            return bias == null ? y : y.add(bias);
        }
        if (weight.getDevice().isGpu()) {
            NDArray y = Linear.linear(x.toType(weight.getDataType(), false), weight).singletonOrThrow().toType(DataType.FLOAT32, false);
            return bias == null ? y : y.add(bias);
        }
        try (NDArray w32 = weight.toType(DataType.FLOAT32, false)) {
            return Linear.linear(x, w32, bias).singletonOrThrow();
        }
    }

    public long outFeatures() {
        return weight.getShape().get(0);
    }

    public long inFeatures() {
        return weight.getShape().get(1);
    }

    NDArray weight() {
        return weight;
    }
}
