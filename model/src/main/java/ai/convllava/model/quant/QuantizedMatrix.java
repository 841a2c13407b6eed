package ai.convllava.model.quant;

import ai.convllava.model.checkpoint.Half;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * A weight matrix {@code [rows, cols]} in a {@link QuantFormat}, its blocks row after row in Java heap
 * arrays of whole rows, each sized to fill one G1 region where G1 runs: Java 17's Vector API reads heap arrays at memory
 * speed, off-heap buffers at about half of it (docs/bench/quant.md), and the native kernels read them pinned.
 * The kernels read the blocks in place, never a whole dequantized row: {@link #matvec} (one token: y = W x,
 * {@link NativeKernels} where they load) and {@link #matmul} (a few tokens), split over output rows on all
 * cores ({@link RowPool}); {@link #dequantizeRows} gives float32 rows for libtorch's GEMM on long prompts.
 *
 * <p>In memory, Q8_0 blocks are exactly GGUF's. A Q4_K block keeps GGUF's quants and its two float16
 * scales but holds its eight 6-bit sub-block scales and mins unpacked, one byte each (GGUF packs the 16
 * values into 12 bytes): {@code d (f16), dmin (f16), scales[8], mins[8], qs[128]}, 148 bytes per 256
 * weights instead of 144. Unpacking the 6-bit fields was a third of the kernel's work for 3% of its bytes.
 * The blocks are converted when the matrix is made and back in {@link #ggufBlocks}.
 */
public final class QuantizedMatrix {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    /** Output rows a thread takes at a time. */
    private static final int CHUNK = 64;
    /** Output rows a thread takes at a time on the native kernels: fewer calls, each pinning the arrays once. */
    private static final int NATIVE_CHUNK = 256;

    private final QuantFormat format;
    private final int rows;
    private final int cols;
    /** Bytes of a Q4_K block in memory: d, dmin, 8 scales, 8 mins, 128 bytes of quants. */
    static final int Q4K_BLOCK = 148;

    /** Bytes of one row in memory. */
    private final int rowBytes;
    /**
     * The rows in arrays of {@link #rowsPerChunk} rows each (the last may hold fewer): sized to fill one G1 heap
     * region each. G1 gives every array of half a region or more whole regions of its own, and a matrix in one
     * array left the end of its last region unused: about 0.2 GB over 4-bit ConvLLaVA-1536's 225 matrices
     * (docs/bench/quant.md). One array where the matrix is small, the collector not G1, or a row too long.
     */
    private final byte[][] chunks;
    private final int rowsPerChunk;
    /** Bytes an array may take to fill one G1 region (the region less the array's 16-byte header), or no limit. */
    private static final int CHUNK_BYTES = chunkBytes();

    /**
     * @param blocks the blocks of all rows as GGUF stores them, {@code rows * format.rowBytes(cols)} bytes
     *               (kept as they are for Q8_0; converted for Q4_K, see the class comment)
     */
    public QuantizedMatrix(QuantFormat format, int rows, int cols, byte[] blocks) {
        this(format, rows, cols, blocks, CHUNK_BYTES);
    }

    /** As the public constructor, with arrays of at most {@code chunkBytes} (tests use small ones). */
    QuantizedMatrix(QuantFormat format, int rows, int cols, byte[] blocks, int chunkBytes) {
        format.checkRowLength("matrix", cols);
        long need = (long) rows * format.rowBytes(cols);
        if (rows <= 0 || blocks.length != need) {
            throw new IllegalArgumentException(format + " matrix " + rows + " x " + cols + " needs " + need + " bytes, got " + blocks.length);
        }
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = Math.toIntExact(format == QuantFormat.Q4_K ? (long) cols / 256 * Q4K_BLOCK : format.rowBytes(cols));
        long total = (long) rows * rowBytes;
        Math.toIntExact(total); // the row offsets below are ints
        this.rowsPerChunk = total <= chunkBytes || rowBytes > chunkBytes / 2 ? rows : chunkBytes / rowBytes;
        this.chunks = new byte[(rows + rowsPerChunk - 1) / rowsPerChunk][];
        int ggufRow = (int) format.rowBytes(cols);
        if (format != QuantFormat.Q4_K && chunks.length == 1) {
            chunks[0] = blocks; // Q8_0 in memory is GGUF's layout: kept as given
            return;
        }
        for (int c = 0; c < chunks.length; c++) {
            chunks[c] = new byte[Math.min(rowsPerChunk, rows - c * rowsPerChunk) * rowBytes];
        }
        RowPool.forRows(rows, CHUNK, (a, b) -> {
            for (int r = a; r < b; r++) {
                byte[] mem = rowArray(r);
                int m = rowOffset(r);
                if (format == QuantFormat.Q4_K) {
                    for (int sb = 0; sb < cols / 256; sb++) {
                        unpackQ4K(blocks, r * ggufRow + sb * 144, mem, m + sb * Q4K_BLOCK);
                    }
                } else {
                    System.arraycopy(blocks, r * ggufRow, mem, m, rowBytes);
                }
            }
        });
    }

    /** G1's region size less an array header, where G1 runs; else no limit (one array per matrix). */
    private static int chunkBytes() {
        try {
            com.sun.management.HotSpotDiagnosticMXBean vm = java.lang.management.ManagementFactory.getPlatformMXBean(
                    com.sun.management.HotSpotDiagnosticMXBean.class);
            if (Boolean.parseBoolean(vm.getVMOption("UseG1GC").getValue())) {
                return Math.toIntExact(Long.parseLong(vm.getVMOption("G1HeapRegionSize").getValue()) - 16);
            }
        } catch (RuntimeException e) {
            // not HotSpot: nothing known about regions
        }
        return Integer.MAX_VALUE;
    }

    /** The array holding row {@code r}. */
    private byte[] rowArray(int r) {
        return chunks[r / rowsPerChunk];
    }

    /** Where row {@code r} starts in {@link #rowArray}. */
    private int rowOffset(int r) {
        return (r % rowsPerChunk) * rowBytes;
    }

    /** Rows in each of the matrix's arrays (the last may hold fewer): for tests. */
    int rowsPerChunk() {
        return rowsPerChunk;
    }

    /** A GGUF Q4_K block at {@code g} into the in-memory form at {@code m}. */
    private static void unpackQ4K(byte[] gguf, int g, byte[] mem, int m) {
        System.arraycopy(gguf, g, mem, m, 4);
        for (int j = 0; j < 8; j++) {
            mem[m + 4 + j] = (byte) Quantizer.scale(gguf, g + 4, j);
            mem[m + 12 + j] = (byte) Quantizer.min(gguf, g + 4, j);
        }
        System.arraycopy(gguf, g + 16, mem, m + 20, 128);
    }

    /** An in-memory Q4_K block at {@code m} back into GGUF's form at {@code g} (ggml's packing of the 6-bit scales and mins). */
    private static void packQ4K(byte[] mem, int m, byte[] gguf, int g) {
        System.arraycopy(mem, m, gguf, g, 4);
        int s = g + 4;
        for (int j = 0; j < 8; j++) {
            int ls = mem[m + 4 + j];
            int lm = mem[m + 12 + j];
            if (j < 4) {
                gguf[s + j] = (byte) ls;
                gguf[s + j + 4] = (byte) lm;
            } else {
                gguf[s + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                gguf[s + j - 4] |= (byte) ((ls >> 4) << 6);
                gguf[s + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        System.arraycopy(mem, m + 20, gguf, g + 16, 128);
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

    /**
     * The blocks as GGUF stores them (a copy, except for a Q8_0 matrix in one array: its own, not for changing): for
     * writing a file.
     */
    public byte[] ggufBlocks() {
        if (format != QuantFormat.Q4_K && chunks.length == 1) {
            return chunks[0];
        }
        int ggufRow = (int) format.rowBytes(cols);
        byte[] out = new byte[rows * ggufRow];
        for (int r = 0; r < rows; r++) {
            byte[] mem = rowArray(r);
            int m = rowOffset(r);
            if (format == QuantFormat.Q4_K) {
                for (int sb = 0; sb < cols / 256; sb++) {
                    packQ4K(mem, m + sb * Q4K_BLOCK, out, r * ggufRow + sb * 144);
                }
            } else {
                System.arraycopy(mem, m, out, r * ggufRow, rowBytes);
            }
        }
        return out;
    }

    /** Bytes held in memory (what a mat-vec reads). */
    public long bytes() {
        return (long) rows * rowBytes;
    }

    /** Rows {@code [from, to)} as float32 into {@code dst} from {@code dstOff}, row-major. */
    public void dequantizeRows(int from, int to, float[] dst, int dstOff) {
        RowPool.forRows(to - from, CHUNK, (a, b) -> {
            for (int r = a; r < b; r++) {
                dequantizeRow(from + r, dst, dstOff + r * cols);
            }
        });
    }

    /** Row {@code r} as float32 into {@code dst} from {@code o}. */
    private void dequantizeRow(int r, float[] dst, int o) {
        byte[] data = rowArray(r);
        int p = rowOffset(r);
        if (format == QuantFormat.Q4_K) {
            dequantizeQ4K(data, p, dst, o);
        } else {
            dequantizeQ8(data, p, dst, o);
        }
    }

    /** One row of Q8_0 blocks from byte {@code p}: y = d * q, as ggml's dequantize_row_q8_0, 8 weights per vector. */
    private void dequantizeQ8(byte[] data, int p, float[] y, int o) {
        float[] half = Half.table();
        for (int b = 0; b < cols / 32; b++, p += 34, o += 32) {
            FloatVector d = FloatVector.broadcast(F, half[(data[p] & 0xff) | (data[p + 1] & 0xff) << 8]);
            for (int k = 0; k < 4; k++) {
                q8(data, p + 2 + 8 * k).mul(d).intoArray(y, o + 8 * k);
            }
        }
    }

    /** One row of in-memory Q4_K blocks from byte {@code p}: y = d * scale * q - dmin * min, as ggml's dequantize_row_q4_K. */
    private void dequantizeQ4K(byte[] data, int p, float[] y, int o) {
        float[] half = Half.table();
        for (int sb = 0; sb < cols / 256; sb++, p += Q4K_BLOCK, o += 256) {
            float d = half[(data[p] & 0xff) | (data[p + 1] & 0xff) << 8];
            float dmin = half[(data[p + 2] & 0xff) | (data[p + 3] & 0xff) << 8];
            for (int c = 0; c < 4; c++) {
                int q = p + 20 + 32 * c;
                FloatVector d1 = FloatVector.broadcast(F, d * data[p + 4 + 2 * c]);
                FloatVector m1 = FloatVector.broadcast(F, dmin * data[p + 12 + 2 * c]);
                FloatVector d2 = FloatVector.broadcast(F, d * data[p + 5 + 2 * c]);
                FloatVector m2 = FloatVector.broadcast(F, dmin * data[p + 13 + 2 * c]);
                for (int l = 0; l < 32; l += 8) {
                    IntVector v = (IntVector) ByteVector.fromArray(B, data, q + l).convertShape(VectorOperators.B2I, I, 0);
                    FloatVector ql = (FloatVector) v.and(0x0F).convert(VectorOperators.I2F, 0);
                    FloatVector qh = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).and(0x0F).convert(VectorOperators.I2F, 0);
                    ql.mul(d1).sub(m1).intoArray(y, o + 64 * c + l); // not fused: the rounding of ggml's d * q - m
                    qh.mul(d2).sub(m2).intoArray(y, o + 64 * c + 32 + l);
                }
            }
        }
    }

    /** The kernels a one-token mat-vec can run on. */
    enum Decode {
        /**
         * {@link NativeKernels}: the activation quantized to int8, integer dot products; where they load. The widest
         * instructions the CPU has: 4-bit in AVX-512 where it runs.
         */
        NATIVE,
        /** The native kernels in AVX2 only, as on a CPU without AVX-512 (where they load). */
        NATIVE_AVX2,
        /** The Vector API kernels below: each weight widened to float, the activation as it is. */
        JAVA;

        /** Whether these kernels run on this machine. */
        boolean runsHere() {
            return this == JAVA || NativeKernels.available();
        }
    }

    /**
     * y = W x for one vector x (cols) into y (rows), on the native kernels where they load (the activation
     * quantized to int8 in blocks of 32, as llama.cpp does), else on the Java ones (float activations).
     */
    public void matvec(float[] x, float[] y) {
        matvec(x, y, nativeMatvec() ? Decode.NATIVE : Decode.JAVA);
    }

    private static volatile boolean nativeMatvecEnabled = true;

    /**
     * Turns the native mat-vec kernels off (the Java ones run) or back on, for every matrix: A/B comparisons in one JVM, where
     * the 8-bit activation's rounding would hide a small difference (a value on a rounding boundary moves one step). The
     * native attention ({@link Int8KvAttention}) is not affected.
     */
    public static void setNativeMatvecEnabled(boolean enabled) {
        nativeMatvecEnabled = enabled;
    }

    private static boolean nativeMatvec() {
        return nativeMatvecEnabled && NativeKernels.available();
    }

    /**
     * One token's activation {@code x} as {@link #matvec(float[], float[])} multiplies it on this machine: rounded to
     * 8 bits per value as this format's native kernel takes it where the native kernels run, {@code x} itself where the
     * Java ones do. For checking results against a reference; {@code x.length} is {@link #cols()}.
     */
    public float[] decodeInput(float[] x) {
        return nativeMatvec() ? NativeKernels.activation(format, x, 0, x.length).dequantize() : x.clone();
    }

    /** {@link #matvec(float[], float[])} on the kernels named (the native ones must be {@link NativeKernels#available}). */
    void matvec(float[] x, float[] y, Decode kernel) {
        check(x, 1, y);
        if (kernel != Decode.JAVA) {
            boolean wide = kernel == Decode.NATIVE && NativeKernels.wide();
            QuantizedActivation xq = NativeKernels.activation(format, x, 0, cols);
            RowPool.forRows(rows, NATIVE_CHUNK, (a, b) -> {
                for (int c = a / rowsPerChunk; c * rowsPerChunk < b; c++) { // the range's part in each array
                    int first = c * rowsPerChunk;
                    int from = Math.max(a, first) - first;
                    int to = Math.min(b, first + rowsPerChunk) - first;
                    NativeKernels.rows(format, chunks[c], rowBytes, cols, from, to, first, xq, y, wide);
                }
            });
            return;
        }
        float[] xsum = format == QuantFormat.Q4_K ? blockSums(x, 0) : null;
        RowPool.forRows(rows, CHUNK, (a, b) -> {
            for (int r = a; r < b; r++) {
                y[r] = dot(r, x, 0, xsum);
            }
        });
    }

    /**
     * y = x W^T for {@code n} vectors x (n x cols, row-major) into y (n x rows): a prompt of a few
     * tokens. Rows of W are dequantized three at a time into a float32 scratch and multiplied with the
     * inputs three at a time (nine sums: six loads for nine multiply-adds), so the blocks are read and
     * widened once however many inputs there are.
     */
    public void matmul(float[] x, int n, float[] y) {
        check(x, n, y);
        RowPool.forRows(rows, CHUNK, () -> new float[3 * cols], (a, b, w) -> {
            for (int r = a; r < b; r += 3) {
                int m = Math.min(3, b - r);
                for (int j = 0; j < m; j++) {
                    dequantizeRow(r + j, w, j * cols);
                }
                if (m == 3) {
                    int i = 0;
                    for (; i + 2 < n; i += 3) {
                        tile3x3(w, x, i, y, r);
                    }
                    for (; i < n; i++) { // one or two inputs left: still one pass over the three rows each
                        tile3x1(w, x, i, y, r);
                    }
                } else { // the last one or two rows of a chunk
                    for (int j = 0; j < m; j++) {
                        int k = 0;
                        for (; k + 3 < n; k += 4) {
                            dot4(w, j * cols, x, k, y, r + j);
                        }
                        for (; k < n; k++) {
                            y[k * rows + r + j] = dot1(w, j * cols, x, k * cols);
                        }
                    }
                }
            }
        });
    }

    /** y[i..i+2][r..r+2] = the three scratch rows of w . x[i..i+2]. */
    private void tile3x3(float[] w, float[] x, int i, float[] y, int r) {
        int w1 = cols;
        int w2 = 2 * cols;
        int o0 = i * cols;
        int o1 = o0 + cols;
        int o2 = o1 + cols;
        FloatVector c00 = FloatVector.zero(F);
        FloatVector c01 = FloatVector.zero(F);
        FloatVector c02 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F);
        FloatVector c11 = FloatVector.zero(F);
        FloatVector c12 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F);
        FloatVector c21 = FloatVector.zero(F);
        FloatVector c22 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += 8) {
            FloatVector a0 = FloatVector.fromArray(F, w, k);
            FloatVector a1 = FloatVector.fromArray(F, w, w1 + k);
            FloatVector a2 = FloatVector.fromArray(F, w, w2 + k);
            FloatVector b = FloatVector.fromArray(F, x, o0 + k);
            c00 = a0.fma(b, c00);
            c10 = a1.fma(b, c10);
            c20 = a2.fma(b, c20);
            b = FloatVector.fromArray(F, x, o1 + k);
            c01 = a0.fma(b, c01);
            c11 = a1.fma(b, c11);
            c21 = a2.fma(b, c21);
            b = FloatVector.fromArray(F, x, o2 + k);
            c02 = a0.fma(b, c02);
            c12 = a1.fma(b, c12);
            c22 = a2.fma(b, c22);
        }
        int y0 = i * rows + r;
        int y1 = y0 + rows;
        int y2 = y1 + rows;
        y[y0] = c00.reduceLanes(VectorOperators.ADD);
        y[y0 + 1] = c10.reduceLanes(VectorOperators.ADD);
        y[y0 + 2] = c20.reduceLanes(VectorOperators.ADD);
        y[y1] = c01.reduceLanes(VectorOperators.ADD);
        y[y1 + 1] = c11.reduceLanes(VectorOperators.ADD);
        y[y1 + 2] = c21.reduceLanes(VectorOperators.ADD);
        y[y2] = c02.reduceLanes(VectorOperators.ADD);
        y[y2 + 1] = c12.reduceLanes(VectorOperators.ADD);
        y[y2 + 2] = c22.reduceLanes(VectorOperators.ADD);
    }

    /** y[i][r..r+2] = the three scratch rows of w . x[i]. */
    private void tile3x1(float[] w, float[] x, int i, float[] y, int r) {
        int w1 = cols;
        int w2 = 2 * cols;
        int o = i * cols;
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += 8) {
            FloatVector b = FloatVector.fromArray(F, x, o + k);
            c0 = FloatVector.fromArray(F, w, k).fma(b, c0);
            c1 = FloatVector.fromArray(F, w, w1 + k).fma(b, c1);
            c2 = FloatVector.fromArray(F, w, w2 + k).fma(b, c2);
        }
        int y0 = i * rows + r;
        y[y0] = c0.reduceLanes(VectorOperators.ADD);
        y[y0 + 1] = c1.reduceLanes(VectorOperators.ADD);
        y[y0 + 2] = c2.reduceLanes(VectorOperators.ADD);
    }

    /** y[i..i+3][r] = w (from wo) . x[i..i+3]: one load of w for four inputs. */
    private void dot4(float[] w, int wo, float[] x, int i, float[] y, int r) {
        int o0 = i * cols;
        int o1 = o0 + cols;
        int o2 = o1 + cols;
        int o3 = o2 + cols;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += 8) {
            FloatVector wv = FloatVector.fromArray(F, w, wo + k);
            a0 = wv.fma(FloatVector.fromArray(F, x, o0 + k), a0);
            a1 = wv.fma(FloatVector.fromArray(F, x, o1 + k), a1);
            a2 = wv.fma(FloatVector.fromArray(F, x, o2 + k), a2);
            a3 = wv.fma(FloatVector.fromArray(F, x, o3 + k), a3);
        }
        y[i * rows + r] = a0.reduceLanes(VectorOperators.ADD);
        y[(i + 1) * rows + r] = a1.reduceLanes(VectorOperators.ADD);
        y[(i + 2) * rows + r] = a2.reduceLanes(VectorOperators.ADD);
        y[(i + 3) * rows + r] = a3.reduceLanes(VectorOperators.ADD);
    }

    private float dot1(float[] w, int wo, float[] x, int xo) {
        FloatVector a = FloatVector.zero(F);
        for (int k = 0; k < cols; k += 8) {
            a = FloatVector.fromArray(F, w, wo + k).fma(FloatVector.fromArray(F, x, xo + k), a);
        }
        return a.reduceLanes(VectorOperators.ADD);
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
        byte[] data = rowArray(r);
        int p = rowOffset(r);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0, xo = xOff; b < cols / 32; b++, p += 34, xo += 32) {
            float d = half[(data[p] & 0xff) | (data[p + 1] & 0xff) << 8];
            FloatVector s = q8(data, p + 2).mul(FloatVector.fromArray(F, x, xo));
            s = q8(data, p + 10).fma(FloatVector.fromArray(F, x, xo + 8), s);
            s = q8(data, p + 18).fma(FloatVector.fromArray(F, x, xo + 16), s);
            s = q8(data, p + 26).fma(FloatVector.fromArray(F, x, xo + 24), s);
            acc = s.fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** 8 int8 quants at byte offset p of {@code data} as floats. */
    private static FloatVector q8(byte[] data, int p) {
        return (FloatVector) ByteVector.fromArray(B, data, p).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Row r of a Q4_K matrix dotted with x: per sub-block of 32, d * scale * (q . x) - dmin * min * sum(x),
     * the sums of x computed once per input ({@link #blockSums}), the mins' part for all 8 sub-blocks as one
     * vector. The 4-bit quants are widened to ints once per 8 bytes and split into their two nibbles there
     * (cheaper than splitting bytes and widening twice: docs/bench/quant.md).
     */
    private float dotQ4K(int r, float[] x, int xOff, float[] xsum) {
        float[] half = Half.table();
        byte[] data = rowArray(r);
        int p = rowOffset(r);
        FloatVector acc = FloatVector.zero(F);
        FloatVector mins = FloatVector.zero(F);
        for (int sb = 0, xo = xOff; sb < cols / 256; sb++, p += Q4K_BLOCK, xo += 256) {
            float d = half[(data[p] & 0xff) | (data[p + 1] & 0xff) << 8];
            float dmin = half[(data[p + 2] & 0xff) | (data[p + 3] & 0xff) << 8];
            FloatVector m = (FloatVector) ByteVector.fromArray(B, data, p + 12).convertShape(VectorOperators.B2F, F, 0);
            mins = m.mul(dmin).fma(FloatVector.fromArray(F, xsum, sb * 8), mins);
            for (int c = 0; c < 4; c++) {
                int q = p + 20 + 32 * c;
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
                acc = lo.fma(FloatVector.broadcast(F, d * data[p + 4 + 2 * c]), acc);
                acc = hi.fma(FloatVector.broadcast(F, d * data[p + 5 + 2 * c]), acc);
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins.reduceLanes(VectorOperators.ADD);
    }

    /** Reads every byte once with no arithmetic but a sum, on all cores: the bench's ceiling for the kernels. */
    int readAll() {
        int[] sums = new int[chunks.length];
        RowPool.forRows(chunks.length, 1, (a, b) -> {
            for (int c = a; c < b; c++) {
                byte[] data = chunks[c];
                IntVector acc = IntVector.zero(I);
                for (int p = 0; p + I.vectorByteSize() <= data.length; p += I.vectorByteSize()) {
                    acc = acc.add(ByteVector.fromArray(ByteVector.SPECIES_256, data, p).reinterpretAsInts());
                }
                sums[c] = acc.reduceLanes(VectorOperators.ADD);
            }
        });
        return Arrays.stream(sums).sum();
    }

    @Override
    public String toString() {
        return format + " " + rows + " x " + cols + " (" + bytes() + " bytes in " + chunks.length + " arrays)";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedMatrix m && m.format == format && m.rows == rows && m.cols == cols && Arrays.deepEquals(m.chunks, chunks);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(chunks);
    }
}
