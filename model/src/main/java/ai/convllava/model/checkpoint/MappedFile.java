package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.CheckpointFormatException;
import ai.convllava.model.spi.TensorInfo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A read-only file channel with bounds-checked reads and on-demand mappings. Mappings are not
 * unmapped explicitly (Java 17 has no safe way); dropping the buffers lets the GC release them, so
 * tensor data is read with positional reads ({@link #readFully}) instead.
 */
final class MappedFile implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final long size;

    private MappedFile(Path path, FileChannel channel, long size) {
        this.path = path;
        this.channel = channel;
        this.size = size;
    }

    static MappedFile open(Path path) {
        if (Files.isDirectory(path)) {
            throw new CheckpointFormatException(path + ": is a folder, expected a checkpoint file");
        }
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
            try {
                return new MappedFile(path, ch, ch.size());
            } catch (RuntimeException e) {
                ch.close();
                throw e;
            }
        } catch (NoSuchFileException e) {
            throw new CheckpointFormatException(path + ": file not found", e);
        } catch (IOException e) {
            throw new CheckpointFormatException(path + ": cannot open (" + e.getMessage() + ")", e);
        }
    }

    Path path() {
        return path;
    }

    String name() {
        return String.valueOf(path.getFileName());
    }

    long size() {
        return size;
    }

    /** Reads exactly {@code length} bytes at {@code offset} into a new little-endian heap buffer. */
    ByteBuffer read(long offset, int length, String what) {
        checkRange(offset, length, what);
        ByteBuffer buf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        try {
            while (buf.hasRemaining()) {
                int n = FileReads.read(channel, buf, offset + buf.position());
                if (n < 0) {
                    throw new CheckpointFormatException(name() + ": file ends while reading " + what
                            + " at offset " + (offset + buf.position()) + " (file is truncated)");
                }
            }
        } catch (ClosedChannelException e) {
            throw new IllegalStateException(name() + ": checkpoint was closed", e);
        } catch (IOException e) {
            throw new CheckpointFormatException(name() + ": cannot read " + what + " (" + e.getMessage() + ")", e);
        }
        return buf.flip();
    }

    /**
     * Fills {@code dst} (its remaining bytes) from {@code offset} with positional reads. Unlike a
     * mapping, the file's pages stay in the kernel's page cache and never count in this process's
     * resident memory: loading a checkpoint through mappings kept its file pages resident until the
     * garbage collector happened to unmap them.
     */
    void readFully(long offset, ByteBuffer dst, String what) {
        checkRange(offset, dst.remaining(), what);
        long pos = offset;
        try {
            while (dst.hasRemaining()) {
                int n = FileReads.read(channel, dst, pos);
                if (n < 0) {
                    throw new CheckpointFormatException(name() + ": file ends while reading " + what + " at offset " + pos
                            + " (file is truncated)");
                }
                pos += n;
            }
        } catch (ClosedChannelException e) {
            throw new IllegalStateException(name() + ": checkpoint was closed", e);
        } catch (IOException e) {
            throw new CheckpointFormatException(name() + ": cannot read " + what + " (" + e.getMessage() + ")", e);
        }
    }

    /** {@link #readFully} of the part of a tensor's stored bytes starting {@code byteOffset} bytes into it. */
    void readTensor(TensorInfo info, long byteOffset, ByteBuffer dst) {
        if (byteOffset < 0 || byteOffset > info.byteLength() || dst.remaining() > info.byteLength() - byteOffset) {
            throw new IllegalArgumentException("bytes [" + byteOffset + ", +" + dst.remaining() + ") lie outside tensor '" + info.name()
                    + "' of " + info.byteLength() + " bytes");
        }
        readFully(info.offset() + byteOffset, dst, "tensor '" + info.name() + "'");
    }

    /** Maps {@code length} bytes at {@code offset} read-only, little-endian. */
    ByteBuffer map(long offset, long length, String what) {
        if (length > Integer.MAX_VALUE) {
            throw new CheckpointFormatException(name() + ": " + what + " is " + length
                    + " bytes; single tensors over 2147483647 bytes (2 GiB) are not supported");
        }
        checkRange(offset, length, what);
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, offset, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (ClosedChannelException e) {
            throw new IllegalStateException(name() + ": checkpoint was closed", e);
        } catch (IOException e) {
            throw new CheckpointFormatException(name() + ": cannot map " + what + " (" + e.getMessage() + ")", e);
        }
    }

    void checkRange(long offset, long length, String what) {
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new CheckpointFormatException(name() + ": " + what + " at offset " + offset + " (" + length
                    + " bytes) lies beyond the end of the file (" + size + " bytes); the file is truncated or corrupt");
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // closing a read-only channel: nothing was written, nothing to lose
        }
    }
}
