package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Java float arrays into libtorch tensors without a new direct buffer each time. DJL's
 * {@code create(float[])} copies the array into a fresh direct buffer that only a garbage collection
 * frees, and the engine makes little Java garbage: the Java kernels' outputs (every layer of every
 * generated token, and a prompt's dequantized weight blocks) piled up outside the heap. Here the values
 * go through one reused direct buffer per thread; DJL makes its tensor over that buffer without copying,
 * so it is cloned into memory libtorch owns ({@link #toTensor}) or closed ({@link #view}) before the
 * buffer is used again.
 */
final class HeapArrays {
    /** Larger arrays take DJL's own path in {@link #toTensor} rather than growing the thread's buffer for one call. */
    static final int MAX_REUSED_FLOATS = 1 << 20;
    private static final ThreadLocal<ByteBuffer> BUFFER = new ThreadLocal<>();

    private HeapArrays() {
    }

    /** {@code values} as a float32 tensor of {@code shape}, owned by {@code manager}'s scope like any created array. */
    static NDArray toTensor(NDManager manager, float[] values, Shape shape) {
        if (values.length > MAX_REUSED_FLOATS) {
            return manager.create(values, shape);
        }
        try (NDArray alias = view(manager, values, values.length, shape)) {
            return alias.duplicate();
        }
    }

    /**
     * {@code values[0, count)} as a float32 tensor over this thread's reused buffer, not copied into
     * libtorch: valid only until the next call of this class on this thread, so the caller closes it
     * first (a prompt's dequantized weight blocks, one at a time).
     */
    static NDArray view(NDManager manager, float[] values, int count, Shape shape) {
        ByteBuffer b = BUFFER.get();
        if (b == null || b.capacity() < count * Float.BYTES) {
            b = ByteBuffer.allocateDirect(Math.max(count, 1 << 16) * Float.BYTES).order(ByteOrder.nativeOrder());
            BUFFER.set(b);
        }
        ByteBuffer view = b.duplicate().order(ByteOrder.nativeOrder());
        view.limit(count * Float.BYTES);
        view.asFloatBuffer().put(values, 0, count);
        return manager.create(view, shape, DataType.FLOAT32);
    }
}
