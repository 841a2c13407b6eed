package ai.convllava.model.nn;

import ai.convllava.model.api.JitOptions;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import java.nio.ByteBuffer;

/**
 * {@code nn.Linear}: y = x W^T + b with W stored {@code [out, in]} (the layout DJL's
 * {@code Linear.linear} maps onto torch's addmm without a transpose; {@code [in, out]} measured 37x
 * slower). x and y are float32. With float16 weights on the CPU:
 * <ul>
 *   <li>{@link #HALF_KERNEL_MIN_ROWS} to {@link #HALF_KERNEL_ROWS} rows (a question after the
 *       pre-encoded image, a follow-up, a draft) and the prefill's exact lm_head row run on
 *       {@link HalfMatmul}, which reads W in place once and sums in float32 (when the JVM has
 *       {@code jdk.incubator.vector} and AVX2 + FMA);</li>
 *   <li>otherwise up to {@link #F16_ROWS} rows run in float16 (decode: half the bytes read; 1 row
 *       11 ms vs 98 ms upcasting); more rows upcast W to float32 in blocks of {@link #BLOCK_ROWS}
 *       output rows and multiply block by block (640 rows: 566 ms vs 649 ms for one whole upcast, and
 *       each temporary stays under the 32 MB where glibc's malloc starts page-faulting: 2198 vs 3067
 *       ms without tunables).</li>
 * </ul>
 * Measured with LinearKernelBench (variants interleaved in one JVM, medians of 5-9, ms, kernel /
 * libtorch's path; load average 1.5-2 from other jobs on the 2 cores, so +-20%), before the JIT option
 * of {@link HalfMatmul}:
 * <pre>
 *   rows                   1 (exact)   2          3          4          5          17         32          48         64         128
 *   W 4096 x 4096          8.0 / 45    9.6 / 4.3  7.9 / 5.6  12 / 7.3   16 / 20    22 / 50    26 / 27     34 / 30    44 / 37    75 / 49
 *   W 11008 x 4096          12 / 52     15 / 10    33 / 41    21 / 40    18 / 21    32 / 62    54 / 108    81 / 91    94 / 90    189 / 128
 *   W 4096 x 11008         9.6 / 27     15 / 8.9                         18 / 19    33 / 61
 * </pre>
 * With {@code -XX:LoopUnrollLimit=40} (the kernel 25-35% faster), the kernel at any row count ("c:HalfMatmul
 * any rows") against this class's libtorch path, two runs minutes apart (a-b: run 1 - run 2):
 * <pre>
 *   rows                   48          64                  80                  96                  128
 *   W 4096 x 4096          32 / 104    51-46 / 58-121      63-37 / 80-42       44-46 / 35-52       60 / 57
 *   W 11008 x 4096         60 / 75     72-81 / 88-112      77-95 / 88-127      90-110 / 96-141     126 / 124
 *   W 4096 x 11008         55 / 71     66-80 / 77-94       79-94 / 80-100      101-108 / 98-108    137 / 121
 * </pre>
 * So the kernel takes {@link #HALF_KERNEL_MIN_ROWS} to {@link #HALF_KERNEL_ROWS} rows (per layer,
 * 4 x 4096^2 + 3 x 11008-wide: 2 rows lose, 3 win slightly, 64 win by 25%, 80 by 10-25%, 96 about
 * even, 128 lose; the limit was 48 before the JIT option). One decode
 * row stays on libtorch's float16 mat-vec: the kernel's was no faster (8.0 / 12 / 9.6 ms against
 * 8.8 / 13 / 6.0; 7-9 GB/s where copy bandwidth is 25.5). libtorch's float16 matmul also rounds x to
 * half: a pre-encoded question's logits on the tiny model were 2e-3 from float32, the kernel's 2.5e-6.
 */
public final class LinearLayer {
    /** Up to this many rows use the float16 path when W is float16 (17 rows: f16 78 ms, blocked upcast 83 ms; 64: 232 vs 122). */
    static final long F16_ROWS = 24;
    /** Output rows per upcast block: 1024 x 4096 x 4 bytes = 16 MB. */
    public static final int BLOCK_ROWS = 1024;

    /** From {@link #HALF_KERNEL_MIN_ROWS} up to this many rows use {@link HalfMatmul} when it is available and W is float16 on the CPU. */
    static final long HALF_KERNEL_ROWS = 80;
    static final long HALF_KERNEL_MIN_ROWS = 3;
    /** Whether one non-exact row (decode) also uses {@link HalfMatmul}; else libtorch's float16 mat-vec. */
    static final boolean HALF_KERNEL_ONE_ROW = false;
    private static volatile boolean halfKernelEnabled = true;

    private final NDArray weight;
    private final NDArray bias;
    /** W's float16 bytes in place (libtorch's memory, no copy), or null when the Java kernel is not used. */
    private final ByteBuffer halves;

    public LinearLayer(NDArray weight, NDArray bias) {
        this.weight = weight;
        this.bias = bias;
        this.halves = halfView(weight);
    }

    /**
     * A direct view of a contiguous CPU float16 {@code [out, in]} weight ({@code toByteBuffer(true)}
     * wraps the tensor's own storage: checked to have exactly out x in halves), or null.
     */
    private static ByteBuffer halfView(NDArray weight) {
        if (weight.getDataType() != DataType.FLOAT16 || weight.getDevice().isGpu() || weight.getShape().dimension() != 2
                || !HalfKernelSupport.available()) {
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

    /** Turns the Java float16 kernel on or off for every layer (A/B comparisons in one JVM); on by default. */
    public static void setHalfKernelEnabled(boolean enabled) {
        halfKernelEnabled = enabled;
    }

    /** Which code multiplies float16 weights with few rows, for diagnostics ({@code self-test}). */
    public static String halfKernelStatus() {
        String reason = HalfKernelSupport.reasonUnavailable();
        String jit = JitOptions.loopUnrollTooHigh() ? " (LoopUnrollLimit=" + JitOptions.loopUnrollLimit()
                + ": about 30% slower; start the JVM with -XX:LoopUnrollLimit=" + JitOptions.LOOP_UNROLL_LIMIT + ")" : "";
        return reason == null ? (halfKernelEnabled ? "Java Vector API kernel (AVX2 + FMA), " + HALF_KERNEL_MIN_ROWS + ".." + HALF_KERNEL_ROWS + " rows" + jit
                : "libtorch (Java kernel turned off)") : "libtorch (" + reason + ")";
    }

    /** True when float16 layers with few rows run on {@link HalfMatmul} (available here and enabled). */
    public static boolean halfKernelActive() {
        return halfKernelEnabled && HalfKernelSupport.available();
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
        if (halves != null && halfKernelEnabled && x.getDataType() == DataType.FLOAT32
                && (rows > 1 ? rows >= HALF_KERNEL_MIN_ROWS && rows <= HALF_KERNEL_ROWS : exact || HALF_KERNEL_ONE_ROW)) {
            return halfKernel(x, (int) rows);
        }
        if (weight.getDevice().isGpu() || rows <= F16_ROWS && !exact) { // in float16 (on the GPU always)
            NDArray y = Linear.linear(x.toType(weight.getDataType(), false), weight).singletonOrThrow().toType(DataType.FLOAT32, false);
            return bias == null ? y : y.add(bias);
        }
        long out = weight.getShape().get(0);
        if (out <= BLOCK_ROWS) {
            try (NDArray w32 = weight.toType(DataType.FLOAT32, false)) {
                return Linear.linear(x, w32, bias).singletonOrThrow();
            }
        }
        return InnerScope.compute(() -> { // the blocks and their parts go at once; the result to the caller's scope
            NDList parts = new NDList();
            for (long r = 0; r < out; r += BLOCK_ROWS) {
                long end = Math.min(out, r + BLOCK_ROWS);
                NDArray w32 = weight.get(new NDIndex("{}:{}", r, end)).toType(DataType.FLOAT32, false); // (blk, in)
                NDArray b = bias == null ? null : bias.get(new NDIndex("{}:{}", r, end));
                parts.add(Linear.linear(x, w32, b).singletonOrThrow()); // (..., blk)
                w32.close();
            }
            return NDArrays.concat(parts, -1); // (..., out)
        });
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
        NDArray result = x.getManager().create(y, new Shape(dims)); // (..., in) -> (..., out)
        return bias == null ? result : result.add(bias);
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

    /**
     * This layer with float32 weights, for many forwards in a row: itself when already float32, else
     * an upcast copy whose weight the caller closes ({@link #closeIfCopyOf}).
     */
    LinearLayer float32() {
        return weight.getDataType() == DataType.FLOAT32 ? this : new LinearLayer(weight.toType(DataType.FLOAT32, false), bias);
    }

    /** Frees this layer's weight if it is a {@link #float32()} copy of {@code original}'s. */
    void closeIfCopyOf(LinearLayer original) {
        if (this != original) {
            weight.close();
        }
    }
}
