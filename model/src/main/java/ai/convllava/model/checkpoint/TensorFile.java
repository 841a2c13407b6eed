package ai.convllava.model.checkpoint;

import ai.convllava.model.spi.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Map;

/** One checkpoint file whose tensor table has been read and validated: safetensors or torch zip. */
interface TensorFile extends AutoCloseable {

    Path path();

    /** Format name for messages ("safetensors", "PyTorch zip"). */
    String format();

    /** Key to tensor, in file order. */
    Map<String, TensorInfo> tensors();

    /** The tensor's stored bytes, memory-mapped read-only, little-endian, position 0. */
    ByteBuffer map(TensorInfo info);

    /**
     * Reads {@code dst.remaining()} of the tensor's stored bytes, starting {@code byteOffset} bytes
     * into it, with positional reads (no mapping: the pages stay out of the process's memory).
     */
    void read(TensorInfo info, long byteOffset, ByteBuffer dst);

    @Override
    void close();
}
