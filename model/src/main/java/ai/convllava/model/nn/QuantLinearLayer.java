package ai.convllava.model.nn;

import ai.convllava.model.quant.QuantizedMatrix;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

/**
 * Quantized weights (Q8_0, Q4_K) on the CPU, held on the Java heap ({@link QuantizedMatrix}). One row
 * (decode) runs the Java mat-vec kernel, which reads the blocks in place: the fewest bytes per
 * generated token. Several rows (a prompt) dequantize W block by block into float32 and multiply with
 * libtorch's GEMM, which does the many-row work far faster than a Java loop; each block's float32 copy
 * stays under the size where glibc's malloc starts page-faulting.
 */
final class QuantLinearLayer implements LinearLayer {
    /** Float32 values per dequantized block: 16 MB. */
    static final int BLOCK_FLOATS = 4 << 20;

    private final QuantizedMatrix weight;
    private final NDArray bias;
    private final NDManager manager;
    private final String name;

    QuantLinearLayer(QuantizedMatrix weight, NDArray bias, NDManager manager, String name) {
        this.weight = weight;
        this.bias = bias;
        this.manager = manager;
        this.name = name;
    }

    @Override
    public NDArray forward(NDArray x, boolean exact) {
        Shape xs = x.getShape();
        int in = weight.cols();
        int out = weight.rows();
        if (xs.get(xs.dimension() - 1) != in) {
            throw new IllegalArgumentException("linear layer " + name + " takes " + in + " inputs, got shape " + xs);
        }
        long rows = xs.size() / in;
        long[] dims = xs.getShape().clone();
        dims[dims.length - 1] = out;
        NDArray y;
        if (rows == 1) {
            float[] r = new float[out];
            weight.matvec(x.toType(DataType.FLOAT32, false).toFloatArray(), r);
            y = x.getManager().create(r, new Shape(dims)); // (..., in) -> (..., out)
        } else {
            y = InnerScope.compute(() -> { // the dequantized blocks go at once; the result to the caller's scope
                int blockRows = Math.max(1, Math.min(out, BLOCK_FLOATS / in));
                NDList parts = new NDList();
                float[] w32 = new float[blockRows * in];
                for (int r = 0; r < out; r += blockRows) {
                    int n = Math.min(blockRows, out - r);
                    weight.dequantizeRows(r, r + n, w32, 0);
                    try (NDArray block = x.getManager().create(java.nio.FloatBuffer.wrap(w32, 0, n * in), new Shape(n, in))) {
                        parts.add(Linear.linear(x, block).singletonOrThrow()); // (..., n)
                    }
                }
                return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, -1); // (..., out)
            });
        }
        return bias == null ? y : y.add(bias);
    }

    @Override
    public long outFeatures() {
        return weight.rows();
    }

    @Override
    public long inFeatures() {
        return weight.cols();
    }

    /** The whole matrix dequantized, for many forwards in a row; the caller closes it ({@link #closeIfCopyOf}). */
    @Override
    public LinearLayer float32() {
        float[] w = new float[Math.toIntExact((long) weight.rows() * weight.cols())];
        weight.dequantizeRows(0, weight.rows(), w, 0);
        return new F32LinearLayer(manager.create(w, new Shape(weight.rows(), weight.cols())), bias);
    }

    @Override
    public void closeIfCopyOf(LinearLayer original) {
    }

    QuantizedMatrix matrix() {
        return weight;
    }
}
