package ai.convllava.model;

import ai.convllava.model.spi.DType;
import ai.convllava.model.checkpoint.SafetensorsFile;
import ai.convllava.model.spi.TensorInfo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/** The reference tensors of tests/fixtures/tiny/golden.safetensors, read with our own safetensors reader. */
public final class Goldens {
    public static final Path FIXTURES = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures"));
    public static final Path TINY = FIXTURES.resolve("tiny");
    private static SafetensorsFile file;

    private Goldens() {
    }

    /** The fixtures folder (tests/fixtures, a copy of the reference data). */
    public static Path fixtures() {
        return FIXTURES;
    }

    private static synchronized SafetensorsFile file() {
        if (file == null) {
            file = SafetensorsFile.open(TINY.resolve("golden.safetensors"));
        }
        return file;
    }

    private static TensorInfo info(String key) {
        TensorInfo t = file().tensors().get(key);
        if (t == null) {
            throw new IllegalArgumentException("no golden tensor " + key);
        }
        return t;
    }

    public static long[] shape(String key) {
        return info(key).shape();
    }

    public static float[] floats(String key) {
        TensorInfo t = info(key);
        if (t.dtype() != DType.F32) {
            throw new IllegalArgumentException(key + " is " + t.dtype());
        }
        float[] out = new float[(int) t.numel()];
        file().map(t).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    public static long[] longs(String key) {
        TensorInfo t = info(key);
        if (t.dtype() != DType.I64) {
            throw new IllegalArgumentException(key + " is " + t.dtype());
        }
        long[] out = new long[(int) t.numel()];
        ByteBuffer b = file().map(t).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().get(out);
        return out;
    }
}
