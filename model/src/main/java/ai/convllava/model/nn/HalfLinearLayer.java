package ai.convllava.model.nn;

import ai.convllava.model.api.JitOptions;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import java.nio.ByteBuffer;

/**
 * Float16 weights on the CPU: half the memory and half the bytes a generated token reads, with three
 * ways to multiply, chosen by the number of rows (docs/bench/README.md, "Float16 linear layers", has
 * the measurements behind the thresholds):
 * <ul>
 *   <li>{@link #HALF_KERNEL_MIN_ROWS} to {@link #HALF_KERNEL_ROWS} rows (a question after the
 *       pre-encoded image, a follow-up, a draft) and the prefill's exact lm_head row run on
 *       {@link HalfMatmul}, which reads W in place once and sums in float32 (when the JVM has
 *       {@code jdk.incubator.vector} and AVX2 + FMA);</li>
 *   <li>otherwise up to {@link #F16_ROWS} rows run in float16 in libtorch (decode: the fewest bytes
 *       read);</li>
 *   <li>more rows upcast W to float32 in blocks of {@link #BLOCK_ROWS} output rows and multiply block
 *       by block with libtorch's GEMM, which in float16 is slow on the CPU; each temporary stays under
 *       the size where glibc's malloc starts page-faulting.</li>
 * </ul>
 * libtorch's float16 matmul also rounds x to half; the kernel keeps x in float32, so a pre-encoded
 * question's logits stay much closer to float32 ({@code HalfKernelTest}).
 */
final class HalfLinearLayer implements LinearLayer {
    /** Up to this many rows use libtorch's float16 path. */
    static final long F16_ROWS = 24;
    /** Output rows per upcast block: 1024 x 4096 x 4 bytes = 16 MB. */
    static final int BLOCK_ROWS = 1024;
    /** From {@link #HALF_KERNEL_MIN_ROWS} up to this many rows use {@link HalfMatmul} when it is available. */
    static final long HALF_KERNEL_ROWS = 80;
    static final long HALF_KERNEL_MIN_ROWS = 3;
    /** Whether one non-exact row (decode) also uses {@link HalfMatmul}; else libtorch's float16 mat-vec, which was as fast. */
    static final boolean HALF_KERNEL_ONE_ROW = false;
    private static volatile boolean kernelEnabled = true;

    private final NDArray weight;
    private final NDArray bias;
    /** W's float16 bytes in place (libtorch's memory, no copy), or null when the Java kernel is not used. */
    private final ByteBuffer halves;

    HalfLinearLayer(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
        this.halves = halfView(weight);
    }

    /**
     * A direct view of a contiguous CPU float16 {@code [out, in]} weight ({@code toByteBuffer(true)}
     * wraps the tensor's own storage: checked to have exactly out x in halves), or null.
     */
    private static ByteBuffer halfView(NDArray weight) {
        if (weight.getShape().dimension() != 2 || !HalfKernelSupport.available()) {
            return null;
        }
        long bytes = weight.getShape().size() * 2;
        if (bytes > Integer.MAX_VALUE) {
            return null; // a ByteBuffer cannot address it; libtorch's paths handle it
        }
        ByteBuffer view = weight.toByteBuffer(true);
        if (!view.isDirect() || view.capacity() != bytes) {
            return null;
        }
        HalfMatmul.warmUpInBackground(); // compiled while the rest of the model loads
        return view;
    }

    static void setKernelEnabled(boolean enabled) {
        kernelEnabled = enabled;
    }

    static String kernelStatus() {
        String reason = HalfKernelSupport.reasonUnavailable();
        String jit = JitOptions.loopUnrollTooHigh() ? " (LoopUnrollLimit=" + JitOptions.loopUnrollLimit()
                + ": about 30% slower; start the JVM with -XX:LoopUnrollLimit=" + JitOptions.LOOP_UNROLL_LIMIT + ")" : "";
        return reason == null ? (kernelEnabled ? "Java Vector API kernel (AVX2 + FMA), " + HALF_KERNEL_MIN_ROWS + ".." + HALF_KERNEL_ROWS + " rows" + jit
                : "libtorch (Java kernel turned off)") : "libtorch (" + reason + ")";
    }

    static boolean kernelActive() {
        return kernelEnabled && HalfKernelSupport.available();
    }

    @Override
    public NDArray forward(NDArray x, boolean exact) {
        long rows = x.getShape().size() / x.getShape().getShape()[x.getShape().dimension() - 1];
        if (halves != null && kernelEnabled && x.getDataType() == DataType.FLOAT32
                && (rows > 1 ? rows >= HALF_KERNEL_MIN_ROWS && rows <= HALF_KERNEL_ROWS : exact || HALF_KERNEL_ONE_ROW)) {
            return halfKernel(x, (int) rows);
        }
        if (rows <= F16_ROWS && !exact) { // in float16
            NDArray y = Linear.linear(x.toType(DataType.FLOAT16, false), weight).singletonOrThrow().toType(DataType.FLOAT32, false);
            return bias == null ? y : y.add(bias);
        }
        long out = weight.getShape().get(0);
        if (out <= BLOCK_ROWS) {
            try (NDArray w32 = weight.toType(DataType.FLOAT32, false)) {
                return Linear.linear(x, w32, bias).singletonOrThrow();
            }
        }
        // the blocks' temporaries go at once; the result to the caller's scope
        return InnerScope.compute(() -> ColumnBlocks.compute(x, out, BLOCK_ROWS, (from, to) -> {
            try (NDArray slice = weight.get(new NDIndex("{}:{}", from, to));
                 NDArray w32 = slice.toType(DataType.FLOAT32, false); // (blk, in)
                 NDArray b = bias == null ? null : bias.get(new NDIndex("{}:{}", from, to))) {
                return Linear.linear(x, w32, b).singletonOrThrow(); // (..., blk)
            }
        }));
    }

    /** x (..., in) -> (..., out) through {@link HalfMatmul}: float32 sums of the exact float16 values (so also for {@code exact}). */
    private NDArray halfKernel(NDArray x, int rows) {
        int out = (int) outFeatures();
        int in = (int) inFeatures();
        Shape xs = x.getShape();
        if (xs.get(xs.dimension() - 1) != in) {
            throw new IllegalArgumentException("linear layer " + weight.getName() + " takes " + in + " inputs, got shape " + xs);
        }
        if (weight.isReleased()) {
            throw new IllegalStateException("linear layer " + weight.getName() + " used after its model was closed");
        }
        float[] y = HalfMatmul.multiply(halves, out, in, x.toFloatArray(), rows);
        long[] dims = xs.getShape().clone();
        dims[dims.length - 1] = out;
        NDArray result = HeapArrays.toTensor(x.getManager(), y, new Shape(dims)); // (..., in) -> (..., out)
        return bias == null ? result : result.add(bias);
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
        if (this != original) {
            weight.close();
        }
    }
}
