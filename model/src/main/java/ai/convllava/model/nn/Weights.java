package ai.convllava.model.nn;

import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.quant.QuantFormat;
import ai.convllava.model.quant.QuantizedMatrix;
import ai.convllava.model.quant.QuantizedWeights;
import ai.convllava.model.quant.Quantizer;
import ai.convllava.model.spi.CheckpointFormatException;
import ai.convllava.model.spi.TensorInfo;
import ai.convllava.model.spi.WeightSource;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Turns checkpoint tensors into NDArrays owned by the model's manager, one tensor at a time (never
 * two copies of the weights): the values are widened to float32 in Java (bf16 by {@code bits << 16};
 * DJL's BFLOAT16 aborts the JVM), handed to PyTorch, copied into PyTorch-owned memory in the
 * requested type, and the Java buffer is dropped. Big tensors go block by block (16 MB of float32 at
 * a time) into an array already of the final type. Reports progress and honours cancellation between
 * blocks.
 */
public final class Weights {
    private final WeightSource source;
    private final NDManager manager;
    private final WeightFormat linearFormat;
    private final LoadListener listener;
    private final BooleanSupplier cancelled;
    private final String stage;
    private final int tensorsTotal;
    private final long bytesTotal;
    /** Float32 values per load block: 16 MB of scratch. */
    static final int BLOCK_FLOATS = 4 << 20;

    private final int blockFloats;
    /** Owner of the scratch buffer: this, or the Weights this one streams for. */
    private final Weights root;
    /** A {@link #checking} view: its tensors count in the root's progress. */
    private final boolean partOfLoad;
    private ByteBuffer scratch;
    /** Quantized linear weights read from a file, or null (quantized at load). */
    private QuantizedWeights quantizedFile;
    /** The CPU path or the device path ({@link #withComputePath}); views read their root's. */
    private ComputePath computePath = ComputePath.CPU;
    /** Rows read for quantizing at load, reused from tensor to tensor. */
    private float[] quantScratch;
    private int tensorsDone;
    private long bytesDone;

    public Weights(WeightSource source, NDManager manager, WeightFormat linearFormat, String stage, List<String> plannedKeys,
                   LoadListener listener, BooleanSupplier cancelled) {
        this(source, manager, linearFormat, stage, plannedKeys, listener, cancelled, BLOCK_FLOATS);
    }

    /** @param blockFloats float32 values per load block (tests use small blocks to split tiny tensors) */
    Weights(WeightSource source, NDManager manager, WeightFormat linearFormat, String stage, List<String> plannedKeys,
            LoadListener listener, BooleanSupplier cancelled, int blockFloats) {
        if (blockFloats < 1) {
            throw new IllegalArgumentException("blockFloats must be positive, got " + blockFloats);
        }
        this.blockFloats = blockFloats;
        this.root = this;
        this.partOfLoad = false;
        this.source = source;
        this.manager = manager;
        this.linearFormat = linearFormat;
        this.listener = listener;
        this.cancelled = cancelled;
        this.stage = stage;
        this.tensorsTotal = plannedKeys.size();
        long total = 0;
        for (String k : plannedKeys) {
            if (source.contains(k)) {
                total += source.info(k).byteLength();
            }
        }
        this.bytesTotal = total;
    }

    private Weights(Weights root, NDManager manager, WeightFormat linearFormat, boolean partOfLoad) {
        this.root = root;
        this.blockFloats = root.blockFloats;
        this.source = root.source;
        this.manager = manager;
        this.linearFormat = linearFormat;
        this.partOfLoad = partOfLoad;
        this.listener = LoadListener.NONE;
        this.cancelled = partOfLoad ? root.cancelled : () -> false;
        this.stage = root.stage;
        this.tensorsTotal = 0;
        this.bytesTotal = 0;
    }

    /**
     * The same source read into {@code into} in {@code format}, without progress reports, sharing this
     * one's scratch buffer: for weights loaded again and again (a streamed vision tower block, freed
     * with {@code into} after each use).
     */
    public Weights streaming(NDManager into, WeightFormat format) {
        return new Weights(root, into, format, false);
    }

    /**
     * Like {@link #streaming}, for weights read once during the load only to be checked (a streamed
     * tower's blocks): the reads count in this load's progress and honour its cancellation.
     */
    public Weights checking(NDManager into, WeightFormat format) {
        return new Weights(root, into, format, true);
    }

    public NDManager manager() {
        return manager;
    }

    public WeightSource source() {
        return source;
    }

    public WeightFormat linearFormat() {
        return linearFormat;
    }

    public boolean contains(String key) {
        return source.contains(key);
    }

    /** A float32 tensor (norm weights, biases, convolution kernels, layer scales). */
    public NDArray f32(String key, long... shape) {
        return load(key, DataType.FLOAT32, shape);
    }

    /**
     * A weight the CPU path keeps in the configured format's storage type (float32 for F32, float16 otherwise) and
     * widens when it multiplies, and the device path holds in its math type ({@link #math}): the projector's matrices,
     * the tower's downsampling kernels. Held as float32 beside 8/4-bit weights they were resident for nothing.
     */
    public NDArray widenedWhenUsed(String key, long... shape) {
        return computePath().deviceOps() ? math(key, shape) : load(key, linearFormat == WeightFormat.F32 ? DataType.FLOAT32 : DataType.FLOAT16, shape);
    }

    /**
     * A linear weight {@code [out, in]} in the configured format: float32, or float16 for F16 and for the
     * quantized formats (whose matrices come from {@link #quantized}; what still comes here with them,
     * the token embeddings, is read a row at a time and stays float16).
     */
    public NDArray linear(String key, long out, long in) {
        return load(key, linearFormat == WeightFormat.F32 ? DataType.FLOAT32 : DataType.FLOAT16, out, in);
    }

    /**
     * A linear weight {@code [out, in]} in the configured quantized format, on the Java heap: its blocks
     * read from the quantized file when one was given ({@link #withQuantized}), else quantized now from
     * the checkpoint, a few rows at a time, on all cores.
     */
    public QuantizedMatrix quantized(String key, long out, long in) {
        checkCancelled();
        QuantFormat f = QuantFormat.valueOf(linearFormat.name());
        TensorInfo info = source.info(key);
        if (info.numel() != out * in) {
            throw new CheckpointFormatException(info.file().getFileName() + ": tensor '" + key + "' is " + info.shapeString() + ", expected ["
                    + out + ", " + in + "]");
        }
        QuantizedMatrix m = root.quantizedFile != null ? root.quantizedFile.matrix(key, f, out, in) : null;
        if (m == null) {
            m = quantizeFromSource(key, f, (int) out, (int) in);
        }
        counted(info);
        return m;
    }

    private QuantizedMatrix quantizeFromSource(String key, QuantFormat f, int out, int in) {
        f.checkRowLength(key, in);
        byte[] blocks = new byte[Math.toIntExact(out * f.rowBytes(in))];
        int rowBytes = (int) f.rowBytes(in);
        int rowsPerBlock = Math.max(1, blockFloats / in);
        // one buffer for every tensor: hundreds of 16 MB buffers would make the heap grow past what it keeps
        if (root.quantScratch == null || root.quantScratch.length < rowsPerBlock * in) {
            root.quantScratch = new float[rowsPerBlock * in];
        }
        float[] rows = root.quantScratch;
        for (int r = 0; r < out; r += rowsPerBlock) {
            checkCancelled();
            int n = Math.min(rowsPerBlock, out - r);
            FloatBuffer dst = FloatBuffer.wrap(rows, 0, n * in);
            source.readRangeInto(key, (long) r * in, n * in, dst, out, in);
            int first = r;
            try {
                Quantizer.quantizeRows(f, rows, n, in, blocks, first * rowBytes);
            } catch (IllegalArgumentException e) {
                throw new CheckpointFormatException("tensor '" + key + "': " + e.getMessage().replaceFirst("^row (\\d+)", "row " + first + " + $1"));
            }
        }
        return new QuantizedMatrix(f, out, in, blocks);
    }

    /** These weights, for blocks that run {@code path} (the device path: libtorch ops only, in its math type). */
    public Weights withComputePath(ComputePath path) {
        this.computePath = path;
        return this;
    }

    /** Which code the blocks built from these weights run. */
    public ComputePath computePath() {
        return root.computePath;
    }

    /**
     * A tensor in the compute path's math type: convolution kernels and biases and the projector's weights,
     * float32 on the CPU path and float16 on a float16 device path (a convolution needs input, kernel and bias
     * of one type).
     */
    public NDArray math(String key, long... shape) {
        return load(key, computePath().mathType(), shape);
    }

    /** These weights, with the linear layers' quantized blocks read from {@code file} (which the model owns) where it has them. */
    public Weights withQuantized(QuantizedWeights file) {
        this.quantizedFile = file;
        return this;
    }

    /**
     * One direct buffer reused for every block of every tensor. Its size is bounded by
     * {@link #BLOCK_FLOATS} (16 MB) rather than by the biggest tensor (lm_head: 524 MB as float32), and
     * a direct buffer is only freed by a GC: a big one stayed resident for the model's lifetime.
     */
    private ByteBuffer scratch(long bytes) {
        if (root != this) {
            return root.scratch(bytes);
        }
        if (scratch == null || scratch.capacity() < bytes) {
            scratch = null;
            scratch = ByteBuffer.allocateDirect(Math.toIntExact(bytes)).order(ByteOrder.nativeOrder());
        }
        ByteBuffer b = scratch.duplicate().order(ByteOrder.nativeOrder());
        b.limit((int) bytes);
        return b.slice().order(ByteOrder.nativeOrder());
    }

    /**
     * A tensor the model reads later, part by part, straight from the source ({@link TokenEmbedding}):
     * its shape is checked and its first and last elements read now, so a wrong or truncated
     * checkpoint fails the load as it would for a loaded tensor; it counts as loaded for progress.
     */
    public void verifyLater(String key, long... shape) {
        checkCancelled();
        TensorInfo info = source.info(key);
        FloatBuffer probe = FloatBuffer.allocate(1);
        source.readRangeInto(key, 0, 1, probe, shape);
        probe.clear();
        source.readRangeInto(key, info.numel() - 1, 1, probe, shape);
        counted(info);
    }

    private void checkCancelled() {
        if (cancelled.getAsBoolean()) {
            throw new CancellationException("model loading cancelled");
        }
    }

    /** One more planned tensor done, for the progress report. */
    private void counted(TensorInfo info) {
        if (partOfLoad) {
            root.counted(info);
            return;
        }
        tensorsDone++;
        bytesDone += info.byteLength();
        listener.progress(stage, tensorsDone, tensorsTotal, bytesDone, bytesTotal);
    }

    private NDArray load(String key, DataType type, long... shape) {
        checkCancelled();
        TensorInfo info = source.info(key);
        long numel = info.numel();
        long rows = shape.length > 1 ? shape[0] : 1;
        long rowLength = numel / Math.max(1, rows);
        NDArray result;
        if (numel <= blockFloats || rowLength > blockFloats || numel != rows * rowLength) {
            // one block (also a single row too long to split; the shape check in the read reports a mismatch)
            if (numel * 4 > Integer.MAX_VALUE) {
                throw new CheckpointFormatException(info.file().getFileName() + ": tensor '" + key + "' "
                        + info.shapeString() + " is over 2 GiB as float32");
            }
            result = convertBlock(key, 0, (int) numel, new Shape(shape), type, null, -1);
        } else {
            // block by block into PyTorch memory of the final type: the float32 copy never exists whole
            result = manager.create(new Shape(shape), type);
            long rowsPerBlock = blockFloats / rowLength;
            try {
                for (long r = 0; r < rows; r += rowsPerBlock) {
                    checkCancelled();
                    long n = Math.min(rowsPerBlock, rows - r);
                    long[] blockShape = shape.clone();
                    blockShape[0] = n; // (rows, ...) -> (n, ...)
                    convertBlock(key, r * rowLength, (int) (n * rowLength), new Shape(blockShape), type, result, r);
                }
            } catch (RuntimeException e) {
                result.close();
                throw e;
            }
        }
        result.setName(key);
        counted(info);
        return result;
    }

    /**
     * Widens elements [first, first + count) into the scratch, hands them to PyTorch and converts to
     * {@code type}: into rows [row, row + n) of {@code into}, or (when {@code into} is null) as a new array.
     */
    private NDArray convertBlock(String key, long first, int count, Shape shape, DataType type, NDArray into, long row) {
        ByteBuffer values = scratch(4L * count);
        source.readRangeInto(key, first, count, values.asFloatBuffer(), into == null ? shape.getShape() : into.getShape().getShape());
        // The view aliases the scratch buffer (DJL wraps direct memory without copying); the copies
        // made by duplicate / toType / set are PyTorch's own, so the scratch can be reused next.
        try (NDArray view = manager.create(values, shape, DataType.FLOAT32)) {
            if (into == null) {
                NDArray result = type == DataType.FLOAT32 ? view.duplicate() : view.toType(type, true);
                checkRange(key, result);
                return result;
            }
            if (type == DataType.FLOAT32) {
                into.set(new NDIndex("{}:{}", row, row + shape.get(0)), view);
            } else {
                try (NDArray typed = view.toType(type, true)) {
                    checkRange(key, typed);
                    into.set(new NDIndex("{}:{}", row, row + shape.get(0)), typed);
                }
            }
            return into;
        }
    }

    /** A value beyond float16's range (65504) would silently become infinity and poison every answer. */
    private static void checkRange(String key, NDArray converted) {
        if (converted.getDataType() != DataType.FLOAT16) {
            return;
        }
        try (NDArray inf = converted.isInfinite(); NDArray any = inf.any()) {
            if (any.getBoolean()) {
                throw new WeightRangeException("weight '" + key + "' has values beyond float16's range (|v| > 65504): this model "
                        + "needs float32 weights (convllava ask --weights f32)");
            }
        }
    }
}
