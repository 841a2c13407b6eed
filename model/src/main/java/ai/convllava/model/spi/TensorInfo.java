package ai.convllava.model.spi;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Where one tensor lives: its file, the absolute byte offset of its first element in that file,
 * dtype and shape. Validated on construction so a reader can trust it before touching memory.
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, long offset, long byteLength) {
    public TensorInfo {
        shape = shape.clone();
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new CheckpointFormatException(file.getFileName() + ": tensor '" + name + "' has a negative dimension " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (offset < 0 || byteLength != Math.multiplyExact(n, (long) dtype.bytes())) {
            throw new CheckpointFormatException(file.getFileName() + ": tensor '" + name + "' " + dtype + Arrays.toString(shape)
                    + " needs " + n * dtype.bytes() + " bytes but spans " + byteLength + " at offset " + offset);
        }
    }

    public long numel() {
        return byteLength / dtype.bytes();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
