package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.core.Linear;

/**
 * Float16 weights on the device path (a GPU, or the CPU device in tests): the product in float16, what
 * GPUs are fast at, with x cast to float16 at the op and y returned in float32 for the norms and the
 * residual stream. libtorch ops only: no Java kernel, nothing copied to the Java heap.
 */
final class HalfDeviceLinearLayer implements LinearLayer {
    /**
     * Output rows per upcast block of an exact forward: 4096 x 4096 x 4 bytes = 64 MB, so that the
     * prefill's float32 lm_head row does not need the whole head in float32 (524 MB for Vicuna-7B) beside
     * a GPU's float16 weights.
     */
    static final int EXACT_BLOCK_ROWS = 4096;

    private final NDArray weight;
    private final NDArray bias;

    HalfDeviceLinearLayer(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
    }

    /**
     * @param exact float32 math (W upcast block by block), as the CPU path computes the prefill's logits, so
     *              that the first token is chosen from float32 logits on every path
     */
    @Override
    public NDArray forward(NDArray x, boolean exact) {
        if (exact) {
            return exactForward(x);
        }
        NDArray y = Linear.linear(x.toType(DataType.FLOAT16, false), weight).singletonOrThrow().toType(DataType.FLOAT32, false);
        return bias == null ? y : y.add(bias);
    }

    private NDArray exactForward(NDArray x) {
        NDArray x32 = x.toType(DataType.FLOAT32, false);
        long out = outFeatures();
        if (out <= EXACT_BLOCK_ROWS) {
            try (NDArray w32 = weight.toType(DataType.FLOAT32, true)) {
                return Linear.linear(x32, w32, bias).singletonOrThrow();
            }
        }
        NDList parts = new NDList();
        try {
            for (long r = 0; r < out; r += EXACT_BLOCK_ROWS) {
                long end = Math.min(out, r + EXACT_BLOCK_ROWS);
                try (NDArray w32 = weight.get(new NDIndex("{}:{}", r, end)).toType(DataType.FLOAT32, true)) {
                    NDArray b = bias == null ? null : bias.get(new NDIndex("{}:{}", r, end));
                    parts.add(Linear.linear(x32, w32, b).singletonOrThrow()); // (..., end - r)
                }
            }
            return NDArrays.concat(parts, -1); // (..., out)
        } finally {
            parts.close();
        }
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
