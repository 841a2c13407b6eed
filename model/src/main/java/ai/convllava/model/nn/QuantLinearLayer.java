package ai.convllava.model.nn;

import ai.convllava.model.quant.QuantizedMatrix;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Quantized weights (Q8_0, Q4_K) on the CPU, held on the Java heap ({@link QuantizedMatrix}). One row
 * (decode) runs the Java mat-vec kernel, which reads the blocks in place: the fewest bytes per
 * generated token. A few rows (a question, a follow-up: up to {@link #KERNEL_MAX_ROWS}) run the Java
 * kernel that widens each weight row once for all of them. More rows (an image's prompt) dequantize W
 * block by block into float32 and multiply with libtorch's GEMM, which does the many-row work far faster
 * than a Java loop; the blocks go through one reused buffer ({@link HeapArrays#view}).
 */
final class QuantLinearLayer implements LinearLayer {
    /** Float32 values per dequantized block: 16 MB. */
    static final int BLOCK_FLOATS = 4 << 20;
    /** Most rows the Java kernel takes; above, dequantizing the whole layer for libtorch's GEMM pays (docs/bench/quant.md). */
    static final int KERNEL_MAX_ROWS = 80;

    private static final AtomicReference<float[]> SCRATCH = new AtomicReference<>();

    private final QuantizedMatrix weight;
    private final NDArray bias;
    private final NDManager manager;
    private final String name;
    private final int blockFloats;

    QuantLinearLayer(QuantizedMatrix weight, NDArray bias, NDManager manager, String name) {
        this(weight, bias, manager, name, BLOCK_FLOATS);
    }

    /** With blocks of {@code blockFloats} values (tests: several blocks on a small matrix). */
    QuantLinearLayer(QuantizedMatrix weight, NDArray bias, NDManager manager, String name, int blockFloats) {
        this.weight = weight;
        this.bias = bias;
        this.manager = manager;
        this.name = name;
        this.blockFloats = blockFloats;
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
        if (rows <= KERNEL_MAX_ROWS) {
            float[] xs32 = x.toType(DataType.FLOAT32, false).toFloatArray();
            float[] r = new float[(int) rows * out];
            if (rows == 1) {
                weight.matvec(xs32, r);
            } else {
                weight.matmul(xs32, (int) rows, r);
            }
            y = HeapArrays.toTensor(x.getManager(), r, new Shape(dims)); // (..., rows, in) -> (..., rows, out)
        } else {
            y = InnerScope.compute(() -> { // the dequantized blocks go at once; the result to the caller's scope
                int blockRows = Math.max(1, Math.min(out, blockFloats / in));
                float[] w32 = takeScratch(blockRows * in);
                try {
                    return ColumnBlocks.compute(x, out, blockRows, (from, to) -> {
                        int n = (int) (to - from);
                        weight.dequantizeRows((int) from, (int) to, w32, 0);
                        try (NDArray block = HeapArrays.view(x.getManager(), w32, n * in, new Shape(n, in))) { // (n, in)
                            return Linear.linear(x, block).singletonOrThrow(); // (..., n)
                        }
                    });
                } finally {
                    SCRATCH.set(w32);
                }
            });
        }
        return bias == null ? y : y.add(bias);
    }

    /**
     * The float32 heap array a prompt's matmuls dequantize into, shared by every layer (taken while in
     * use): a new 16 MB array per layer and prompt would make the Java heap grow far past the weights it
     * holds. libtorch reads each block through {@link HeapArrays#view}.
     */
    private static float[] takeScratch(int floats) {
        float[] s = SCRATCH.getAndSet(null);
        return s != null && s.length >= floats ? s : new float[Math.max(floats, BLOCK_FLOATS)];
    }

    @Override
    public boolean matvecOnHeap() {
        return bias == null;
    }

    @Override
    public void matvec(float[] x, float[] y) {
        if (bias != null) {
            throw new UnsupportedOperationException("linear layer " + name + " has a bias: multiply tensors (forward)");
        }
        weight.matvec(x, y);
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
