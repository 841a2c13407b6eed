package ai.convllava.model.nn;

import ai.convllava.model.quant.QuantizedMatrix;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Quantized weights (Q8_0, Q4_K) on the CPU, held on the Java heap ({@link QuantizedMatrix}). One row
 * (decode) runs the Java mat-vec kernel, which reads the blocks in place: the fewest bytes per
 * generated token. A few rows (a question, a follow-up: up to {@link #KERNEL_MAX_ROWS}) run the Java
 * kernel that widens each weight row once for all of them. More rows (an image's prompt) dequantize W
 * block by block into float32 and multiply with libtorch's GEMM, which does the many-row work far faster
 * than a Java loop; the blocks go through one reused buffer ({@link Scratch}).
 */
final class QuantLinearLayer implements LinearLayer {
    /** Float32 values per dequantized block: 16 MB. */
    static final int BLOCK_FLOATS = 4 << 20;
    /** Most rows the Java kernel takes; above, dequantizing the whole layer for libtorch's GEMM pays (docs/bench/quant.md). */
    static final int KERNEL_MAX_ROWS = 80;

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
        if (rows == 1) {
            float[] r = new float[out];
            weight.matvec(x.toType(DataType.FLOAT32, false).toFloatArray(), r);
            y = HeapArrays.toTensor(x.getManager(), r, new Shape(dims)); // (..., in) -> (..., out)
        } else if (rows <= KERNEL_MAX_ROWS) {
            float[] r = new float[(int) rows * out];
            weight.matmul(x.toType(DataType.FLOAT32, false).toFloatArray(), (int) rows, r);
            y = HeapArrays.toTensor(x.getManager(), r, new Shape(dims)); // (..., rows, in) -> (..., rows, out)
        } else {
            y = InnerScope.compute(() -> { // the dequantized blocks go at once; the result to the caller's scope
                int blockRows = Math.max(1, Math.min(out, blockFloats / in));
                NDList parts = new NDList();
                Scratch s = Scratch.take(blockRows * in);
                try {
                    for (int r = 0; r < out; r += blockRows) {
                        int n = Math.min(blockRows, out - r);
                        try (NDArray block = s.dequantize(weight, r, n, x.getManager())) { // (n, in)
                            parts.add(Linear.linear(x, block).singletonOrThrow()); // (..., n)
                        }
                    }
                } finally {
                    s.give();
                }
                return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, -1); // (..., out)
            });
        }
        return bias == null ? y : y.add(bias);
    }

    /**
     * The float32 block a prompt's matmuls dequantize into, shared by every layer: a heap array the
     * Vector API writes fast, and a direct buffer of the same size that libtorch reads in place. Handing
     * DJL a heap buffer instead makes it allocate a new direct buffer per block, which is freed only by a
     * later garbage collection: the process grows by gigabytes and, once the allocator has to find fresh
     * pages, creating a block took 30 times as long as multiplying with it.
     */
    private record Scratch(float[] heap, ByteBuffer direct) {
        private static final AtomicReference<Scratch> FREE = new AtomicReference<>();

        static Scratch take(int floats) {
            Scratch s = FREE.getAndSet(null);
            if (s != null && s.heap.length >= floats) {
                return s;
            }
            int size = Math.max(floats, BLOCK_FLOATS);
            return new Scratch(new float[size], ByteBuffer.allocateDirect(size * Float.BYTES).order(ByteOrder.nativeOrder()));
        }

        /** Rows {@code [r, r + n)} of the weight as a float32 NDArray over the direct buffer; close it before the next block. */
        NDArray dequantize(QuantizedMatrix weight, int r, int n, NDManager manager) {
            int floats = n * weight.cols();
            weight.dequantizeRows(r, r + n, heap, 0);
            direct.clear();
            direct.asFloatBuffer().put(heap, 0, floats);
            ByteBuffer view = direct.duplicate().order(ByteOrder.nativeOrder());
            view.limit(floats * Float.BYTES);
            return manager.create(view, new Shape(n, weight.cols()), DataType.FLOAT32);
        }

        void give() {
            FREE.set(this);
        }
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
