package ai.convllava.model.spi;

/** Element types a checkpoint tensor may be stored in. Names follow safetensors. */
public enum DType {
    F32(4), F16(2), BF16(2), I8(1), I64(8), I32(4), U8(1), BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** True for the types a weight can be widened to float32 from. */
    public boolean isFloating() {
        return this == F32 || this == F16 || this == BF16;
    }
}
