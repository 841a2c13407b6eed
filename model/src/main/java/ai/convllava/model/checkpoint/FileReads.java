package ai.convllava.model.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Positional reads of weight files into heap buffers, a bounded piece at a time.
 *
 * <p>A {@link FileChannel} reads into a heap buffer through a temporary direct buffer as large as the
 * read, and the JDK keeps that buffer in a per-thread cache for good ({@code jdk.nio.maxCachedBufferSize}
 * is unbounded by default). Reading a 262 MB embedding table in one call therefore left 262 MB of C
 * memory on the session's thread for the rest of the session; the streamed tower's blocks and the
 * quantized weights' largest tensors did the same. Pieces of at most {@link #PIECE} bytes bound it.
 */
public final class FileReads {
    /** Bytes per read: large enough that the system call's cost is nothing next to the copy. */
    public static final int PIECE = 4 << 20;

    private FileReads() {
    }

    /** One {@code ch.read(dst, position)} of at most {@link #PIECE} bytes; returns what it read, or -1 at the end. */
    public static int read(FileChannel ch, ByteBuffer dst, long position) throws IOException {
        if (dst.isDirect() || dst.remaining() <= PIECE) {
            return ch.read(dst, position);
        }
        int limit = dst.limit();
        dst.limit(dst.position() + PIECE);
        try {
            return ch.read(dst, position);
        } finally {
            dst.limit(limit);
        }
    }
}
