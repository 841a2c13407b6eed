package ai.convllava.model.quant;

import ai.convllava.model.checkpoint.Half;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * A weight matrix {@code [rows, cols]} in a {@link QuantFormat}, its blocks exactly as GGUF stores
 * them, row after row, in one Java heap array: Java 17's Vector API reads heap arrays at memory speed
 * but boxes every load from off-heap memory. The kernels read the blocks in place, never a whole
 * dequantized row: {@link #matvec} (one token: y = W x) and {@link #matmul} (a few tokens), split over
 * output rows on all cores ({@link RowPool}); {@link #dequantizeRows} gives float32 rows for
 * libtorch's GEMM on long prompts.
 */
public final class QuantizedMatrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    /** Output rows a thread takes at a time. */
    private static final int CHUNK = 64;

    private final QuantFormat format;
    private final int rows;
    private final int cols;
    private final int rowBytes;
    private final byte[] data;

    /**
     * @param data the blocks of all rows, {@code rows * format.rowBytes(cols)} bytes (kept, not copied)
     */
    public QuantizedMatrix(QuantFormat format, int rows, int cols, byte[] data) {
        format.checkRowLength("matrix", cols);
        long need = (long) rows * format.rowBytes(cols);
        if (rows <= 0 || data.length != need) {
            throw new IllegalArgumentException(format + " matrix " + rows + " x " + cols + " needs " + need + " bytes, got " + data.length);
        }
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = (int) format.rowBytes(cols);
        this.data = data;
    }

    /** Quantizes a float32 matrix (row-major, rows x cols). */
    public static QuantizedMatrix quantize(QuantFormat format, float[] w, int rows, int cols) {
        format.checkRowLength("matrix", cols);
        byte[] out = new byte[Math.toIntExact((long) rows * format.rowBytes(cols))];
        int rb = (int) format.rowBytes(cols);
        for (int r = 0; r < rows; r++) {
            try {
                Quantizer.quantize(format, w, r * cols, cols, out, r * rb);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("row " + r + ": " + e.getMessage(), e);
            }
        }
        return new QuantizedMatrix(format, rows, cols, out);
    }

    public QuantFormat format() {
        return format;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** The blocks as stored (the array itself: for writing a file, not for changing). */
    public byte[] blocks() {
        return data;
    }

    public long bytes() {
        return data.length;
    }

    /** Rows {@code [from, to)} as float32 into {@code dst} from {@code dstOff}, row-major. */
    public void dequantizeRows(int from, int to, float[] dst, int dstOff) {
        RowPool.forRows(to - from, CHUNK, (a, b) -> {
            for (int r = a; r < b; r++) {
                Quantizer.dequantize(format, data, (long) (from + r) * rowBytes, cols, dst, dstOff + r * cols);
            }
        });
    }

    /** y = W x for one vector x (cols) into y (rows). */
    public void matvec(float[] x, float[] y) {
        check(x, 1, y);
        float[] xsum = format == QuantFormat.Q4_K ? blockSums(x, 0) : null;
        RowPool.forRows(rows, CHUNK, (a, b) -> {
            for (int r = a; r < b; r++) {
                y[r] = dot(r, x, 0, xsum);
            }
        });
    }

    /** y = x W^T for {@code n} vectors x (n x cols, row-major) into y (n x rows). */
    public void matmul(float[] x, int n, float[] y) {
        check(x, n, y);
        float[][] xsum = new float[n][];
        if (format == QuantFormat.Q4_K) {
            for (int i = 0; i < n; i++) {
                xsum[i] = blockSums(x, i * cols);
            }
        }
        RowPool.forRows(rows, CHUNK, (a, b) -> {
            for (int r = a; r < b; r++) {
                for (int i = 0; i < n; i++) {
                    y[i * rows + r] = dot(r, x, i * cols, xsum[i]);
                }
            }
        });
    }

    private void check(float[] x, int n, float[] y) {
        if (x.length < (long) n * cols || y.length < (long) n * rows) {
            throw new IllegalArgumentException(format + " matrix " + rows + " x " + cols + ": " + n + " input(s) need " + (long) n * cols
                    + " values in and " + (long) n * rows + " out, got " + x.length + " and " + y.length);
        }
    }

    /** The sum of each 32 inputs of x (Q4_K's mins multiply them). */
    private float[] blockSums(float[] x, int off) {
        float[] s = new float[cols / 32];
        for (int j = 0; j < s.length; j++) {
            FloatVector v = FloatVector.fromArray(F, x, off + 32 * j).add(FloatVector.fromArray(F, x, off + 32 * j + 8))
                    .add(FloatVector.fromArray(F, x, off + 32 * j + 16)).add(FloatVector.fromArray(F, x, off + 32 * j + 24));
            s[j] = v.reduceLanes(VectorOperators.ADD);
        }
        return s;
    }

    /** Row r of W dotted with x from xOff. */
    float dot(int r, float[] x, int xOff, float[] xsum) {
        return format == QuantFormat.Q8_0 ? dotQ8(r, x, xOff) : dotQ4K(r, x, xOff, xsum);
    }

    private float dotQ8(int r, float[] x, int xOff) {
        float[] half = Half.table();
        int p = r * rowBytes;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0, xo = xOff; b < cols / 32; b++, p += 34, xo += 32) {
            float d = half[(data[p] & 0xff) | (data[p + 1] & 0xff) << 8];
            FloatVector s = q8(p + 2).mul(FloatVector.fromArray(F, x, xo));
            s = q8(p + 10).fma(FloatVector.fromArray(F, x, xo + 8), s);
            s = q8(p + 18).fma(FloatVector.fromArray(F, x, xo + 16), s);
            s = q8(p + 26).fma(FloatVector.fromArray(F, x, xo + 24), s);
            acc = s.fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** 8 int8 quants at byte offset p as floats. */
    private FloatVector q8(int p) {
        return (FloatVector) ByteVector.fromArray(B, data, p).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Row r of a Q4_K matrix dotted with x: per sub-block of 32, d * sc * (q . x) - dmin * m * sum(x),
     * the sums of x computed once per input ({@link #blockSums}). The 4-bit quants are widened to ints
     * once per 8 bytes and split into their two nibbles there (cheaper than splitting bytes and widening
     * twice: docs/bench/quant.md).
     */
    private float dotQ4K(int r, float[] x, int xOff, float[] xsum) {
        float[] half = Half.table();
        int p = r * rowBytes;
        FloatVector acc = FloatVector.zero(F);
        float minTerm = 0;
        for (int sb = 0, xo = xOff, j0 = 0; sb < cols / 256; sb++, p += 144, xo += 256, j0 += 8) {
            float d = half[(data[p] & 0xff) | (data[p + 1] & 0xff) << 8];
            float dmin = half[(data[p + 2] & 0xff) | (data[p + 3] & 0xff) << 8];
            int s = p + 4;
            for (int c = 0; c < 4; c++) {
                int q = p + 16 + 32 * c;
                int x0 = xo + 64 * c;
                FloatVector lo = FloatVector.zero(F);
                FloatVector hi = FloatVector.zero(F);
                for (int l = 0; l < 32; l += 8) {
                    IntVector v = (IntVector) ByteVector.fromArray(B, data, q + l).convertShape(VectorOperators.B2I, I, 0);
                    FloatVector ql = (FloatVector) v.and(0x0F).convert(VectorOperators.I2F, 0);
                    FloatVector qh = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).and(0x0F).convert(VectorOperators.I2F, 0);
                    lo = ql.fma(FloatVector.fromArray(F, x, x0 + l), lo);
                    hi = qh.fma(FloatVector.fromArray(F, x, x0 + 32 + l), hi);
                }
                int j = 2 * c;
                acc = lo.fma(FloatVector.broadcast(F, d * Quantizer.scale(data, s, j)), acc);
                acc = hi.fma(FloatVector.broadcast(F, d * Quantizer.scale(data, s, j + 1)), acc);
                minTerm += dmin * (Quantizer.min(data, s, j) * xsum[j0 + j] + Quantizer.min(data, s, j + 1) * xsum[j0 + j + 1]);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - minTerm;
    }

    @Override
    public String toString() {
        return format + " " + rows + " x " + cols + " (" + data.length + " bytes)";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedMatrix m && m.format == format && m.rows == rows && m.cols == cols && Arrays.equals(m.data, data);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(data);
    }
}
