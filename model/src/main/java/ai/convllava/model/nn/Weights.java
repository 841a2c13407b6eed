package ai.convllava.model.nn;

import ai.convllava.model.checkpoint.TensorInfo;
import ai.convllava.model.checkpoint.WeightSource;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * Turns checkpoint tensors into NDArrays owned by the model's manager, one tensor at a time (never
 * two copies of the weights): the values are widened to float32 in Java (bf16 by {@code bits << 16};
 * DJL's BFLOAT16 aborts the JVM), handed to PyTorch, copied into PyTorch-owned memory in the
 * requested type, and the Java buffer is dropped. Reports progress and honours cancellation between
 * tensors.
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
    private ByteBuffer scratch;
    private int tensorsDone;
    private long bytesDone;

    public Weights(WeightSource source, NDManager manager, WeightFormat linearFormat, String stage, List<String> plannedKeys,
                   LoadListener listener, BooleanSupplier cancelled) {
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

    /** A linear weight {@code [out, in]} in the configured linear format. */
    public NDArray linear(String key, long out, long in) {
        return load(key, linearFormat == WeightFormat.F16 ? DataType.FLOAT16 : DataType.FLOAT32, out, in);
    }

    /** One direct buffer reused for every tensor (no per-tensor allocation of up to 0.5 GB of direct memory). */
    private ByteBuffer scratch(int bytes) {
        if (scratch == null || scratch.capacity() < bytes) {
            scratch = null;
            scratch = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        }
        ByteBuffer b = scratch.duplicate().order(ByteOrder.nativeOrder());
        b.limit(bytes);
        return b.slice().order(ByteOrder.nativeOrder());
    }

    private NDArray load(String key, DataType type, long... shape) {
        if (cancelled.getAsBoolean()) {
            throw new CancellationException("model loading cancelled");
        }
        TensorInfo info = source.info(key);
        long bytes = info.numel() * 4;
        if (bytes > Integer.MAX_VALUE) {
            throw new ai.convllava.model.checkpoint.CheckpointFormatException(info.file().getFileName() + ": tensor '" + key + "' "
                    + info.shapeString() + " is over 2 GiB as float32");
        }
        ByteBuffer values = scratch((int) bytes);
        source.readInto(key, values.asFloatBuffer(), shape);
        NDArray result;
        // The view aliases the scratch buffer (DJL wraps direct memory without copying); the copy
        // made by duplicate / toType is PyTorch's own, so the scratch can be reused for the next tensor.
        try (NDArray view = manager.create(values, new Shape(shape), DataType.FLOAT32)) {
            result = type == DataType.FLOAT32 ? view.duplicate() : view.toType(type, true);
        }
        result.setName(key);
        tensorsDone++;
        bytesDone += info.byteLength();
        listener.progress(stage, tensorsDone, tensorsTotal, bytesDone, bytesTotal);
        return result;
    }
}
