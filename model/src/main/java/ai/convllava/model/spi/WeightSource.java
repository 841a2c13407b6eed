package ai.convllava.model.spi;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Set;

/**
 * Tensors of a checkpoint (one file, a sharded folder, or a separate vision tower), looked up by
 * their checkpoint key. Implementations memory-map the files and read tensor bytes in place;
 * nothing here touches native (DJL) code, so a bad file can only raise our exceptions.
 */
public interface WeightSource extends AutoCloseable {

    /** Human readable description of where the weights come from (folder and format). */
    String describe();

    Set<String> keys();

    boolean contains(String key);

    /** @throws MissingWeightException naming the key (and the shard the index promised, if any) */
    TensorInfo info(String key);

    /**
     * The tensor's values widened to float32 in a new direct little-endian buffer (position 0,
     * limit = 4 * numel). BF16 is widened in Java ({@code bits << 16}); F16 by IEEE rules.
     * Marks the key as used.
     *
     * @param expectedShape the shape the model needs; a mismatch throws {@link MissingWeightException}
     *                      naming key, expected and actual shape and the file
     */
    ByteBuffer readFloat32(String key, long... expectedShape);

    /**
     * Same values as {@link #readFloat32}, written into the caller's buffer from its position, so a
     * loader can reuse one scratch buffer for every tensor. Marks the key as used.
     */
    default void readInto(String key, FloatBuffer dst, long... expectedShape) {
        dst.put(readFloat32(key, expectedShape).asFloatBuffer());
    }

    /**
     * Elements {@code [first, first + count)} of the tensor (row-major), widened to float32 into
     * {@code dst} at its position: lets a loader copy a big tensor block by block through one small
     * buffer. Marks the key as used.
     *
     * @throws IllegalArgumentException if the range lies outside the tensor or {@code dst} is too small
     */
    default void readRangeInto(String key, long first, int count, FloatBuffer dst, long... expectedShape) {
        FloatBuffer all = readFloat32(key, expectedShape).asFloatBuffer();
        checkRange(key, all.limit(), first, count, dst);
        all.limit((int) (first + count)).position((int) first);
        dst.put(all);
    }

    /** The argument checks every {@link #readRangeInto} makes before reading. */
    static void checkRange(String key, long numel, long first, int count, FloatBuffer dst) {
        if (first < 0 || count < 0 || first > numel || count > numel - first) {
            throw new IllegalArgumentException("elements [" + first + ", " + first + " + " + count + ") lie outside tensor '" + key
                    + "' of " + numel + " elements");
        }
        if (dst.remaining() < count) {
            throw new IllegalArgumentException("reading " + count + " elements of '" + key + "' into a buffer with room for "
                    + dst.remaining());
        }
    }

    /** Same as {@link #readFloat32} into a Java array (for small tensors and tests). */
    float[] readFloatArray(String key, long... expectedShape);

    /** Keys never read through this source since it was opened. */
    Set<String> unusedKeys();

    @Override
    void close();
}
