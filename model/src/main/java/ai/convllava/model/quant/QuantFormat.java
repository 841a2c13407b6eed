package ai.convllava.model.quant;

import ai.convllava.model.api.WeightFormat;

/**
 * The quantized weight formats, with the block layouts llama.cpp's ggml defines (ggml-common.h) and
 * GGUF stores, byte for byte. A row of {@code in} weights is {@code in / blockSize} blocks, rows one
 * after another.
 *
 * <pre>
 * Q8_0, 32 weights in 34 bytes (8.5 bits per weight):
 *   bytes 0-1    d       float16, little-endian: the block's scale, max|x| / 127
 *   bytes 2-33   qs[32]  int8: x[j] = d * qs[j]
 *
 * Q4_K, 256 weights in 144 bytes (4.5 bits per weight): 8 sub-blocks of 32, each with a 6-bit scale
 * and a 6-bit min on top of the super-block's float16 d and dmin:
 *   bytes 0-1    d          float16: scale of the sub-block scales
 *   bytes 2-3    dmin       float16: scale of the sub-block mins
 *   bytes 4-15   scales[12] sub-block j's 6-bit scale sc and min m (ggml's get_scale_min_k4):
 *                             j < 4:  sc = scales[j] & 63,                                m = scales[j + 4] & 63
 *                             j >= 4: sc = (scales[j + 4] & 15) | ((scales[j - 4] >> 6) << 4),
 *                                     m  = (scales[j + 4] >> 4) | ((scales[j]     >> 6) << 4)
 *   bytes 16-143 qs[128]    4-bit quants: for each 64 weights c*64 .. c*64+63 (c = 0..3), 32 bytes
 *                           qs[32c + l]: low nibble is weight c*64 + l (sub-block 2c), high nibble
 *                           weight c*64 + 32 + l (sub-block 2c + 1)
 *   x = d * sc * q - dmin * m
 * </pre>
 */
public enum QuantFormat {
    Q8_0(8, 32, 34),
    Q4_K(12, 256, 144);

    /** ggml's type id, as GGUF records it. */
    public final int ggmlType;
    /** Weights per block. */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;

    QuantFormat(int ggmlType, int blockSize, int blockBytes) {
        this.ggmlType = ggmlType;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /**
     * Whether the engine quantizes a CPU linear of rows of {@code in} weights held in {@code format}: a quantized
     * format whose blocks tile the row (a narrower model keeps float16 weights).
     */
    public static boolean quantizes(WeightFormat format, long in) {
        return format.quantized() && in % valueOf(format.name()).blockSize == 0;
    }

    /** Bytes of one row of {@code in} weights. */
    public long rowBytes(long in) {
        return in / blockSize * blockBytes;
    }

    public double bitsPerWeight() {
        return 8.0 * blockBytes / blockSize;
    }

    /** The format of a ggml type id, or null. */
    public static QuantFormat ofGgmlType(int type) {
        for (QuantFormat f : values()) {
            if (f.ggmlType == type) {
                return f;
            }
        }
        return null;
    }

    /** Checks that rows of {@code in} weights can be cut into whole blocks. */
    public void checkRowLength(String tensor, long in) {
        if (in <= 0 || in % blockSize != 0) {
            throw new IllegalArgumentException(tensor + ": rows of " + in + " weights cannot be stored as " + this + ", which needs a multiple of "
                    + blockSize);
        }
    }
}
