package ai.convllava.model.nn;

import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.api.WeightFormat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The memory a streamed vision tower's blocks hold their two linear weights in (pwconv1, pwconv2), one
 * block after another: allocated once for the widest stage and kept, instead of new libtorch memory for
 * every block. Freed and allocated again 48 times per image, those weights (151 MB per fifth-stage block
 * at 1536 in float16) did not land where the last block's had been, because the block's small survivors
 * (its output, the allocator's own records) split that space, so every block spread the C heap further
 * and the fifth stage set the encode's peak (docs/bench/quant.md, "The encode's C heap").
 *
 * <p>Only for the CPU: the tensors are views of this buffer ({@code from_blob}, no copy), which a device
 * cannot read. Not thread-safe: one encode at a time uses it, as the encoder runs one image at a time.
 */
final class BlockArena {
    /** Alignment of each tensor's start: a cache line, as libtorch's own CPU allocations. */
    private static final int ALIGN = 64;

    private final ByteBuffer buffer;
    private long used;

    BlockArena(long bytes) {
        if (bytes <= 0 || bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a block arena of " + bytes + " bytes: must be 1 .. " + Integer.MAX_VALUE);
        }
        this.buffer = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    /** Room for the two linear weights of any block of {@code c}, in the streamed blocks' format (float16 or float32). */
    static long bytesFor(ConvNextConfig c, WeightFormat streamedFormat) {
        long valueBytes = streamedFormat == WeightFormat.F32 ? Float.BYTES : 2;
        long most = 0;
        for (int s = 0; s < c.numStages(); s++) {
            long width = c.hiddenSize(s);
            most = Math.max(most, 2 * (4 * width * width * valueBytes + ALIGN));
        }
        return most;
    }

    long capacity() {
        return buffer.capacity();
    }

    /** Starts the next block: what the last one took is free again (its tensors must be closed by now). */
    void reset() {
        used = 0;
    }

    /** {@code bytes} more of the buffer, aligned; fails, naming the sizes, when the block needs more than it holds. */
    ByteBuffer take(String key, long bytes) {
        long start = (used + ALIGN - 1) / ALIGN * ALIGN;
        if (bytes < 0 || start + bytes > buffer.capacity()) {
            throw new IllegalStateException("the streamed tower's block arena (" + buffer.capacity() + " bytes, " + start
                    + " taken) cannot hold '" + key + "' (" + bytes + " bytes)");
        }
        ByteBuffer b = buffer.duplicate();
        b.limit((int) (start + bytes));
        b.position((int) start);
        used = start + bytes;
        return b.slice().order(ByteOrder.nativeOrder());
    }
}
