package ai.convllava.model.quant;

import ai.convllava.model.checkpoint.Half;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The block layouts against hand-made blocks, the kernels against dequantize-then-multiply, and the rounding error. */
class QuantizedMatrixTest {
    private static final QuantFormat[] FORMATS = QuantFormat.values();
    private static final QuantizedMatrix.Decode[] NATIVE_KERNELS = {QuantizedMatrix.Decode.NATIVE, QuantizedMatrix.Decode.NATIVE_AVX2};

    private static byte lo(short h) {
        return (byte) h;
    }

    private static byte hi(short h) {
        return (byte) (h >> 8);
    }

    @Test
    void q8BlockByHand() {
        float[] x = new float[32];
        x[0] = 1.27f;   // the largest magnitude: d = 1.27 / 127 = 0.01
        x[1] = -0.635f; // -63.5 rounds away from zero: -64
        x[2] = 0.004f;  // 0.4 -> 0
        x[3] = 0.005f;  // 0.5 -> 1 (away from zero)
        x[31] = -1.27f;
        byte[] b = new byte[34];
        Quantizer.quantize(QuantFormat.Q8_0, x, 0, 32, b, 0);
        short d = Half.fromFloat(1.27f / 127);
        byte[] want = new byte[34];
        want[0] = lo(d);
        want[1] = hi(d);
        want[2] = 127;
        want[3] = -64;
        want[4] = 0;
        want[5] = 1;
        want[33] = -127;
        assertArrayEquals(want, b);
        float[] back = new float[32];
        Quantizer.dequantize(QuantFormat.Q8_0, b, 0, 32, back, 0);
        float dd = Half.toFloat(d);
        assertEquals(127 * dd, back[0]);
        assertEquals(-64 * dd, back[1]);
        assertEquals(0f, back[2]);
        assertEquals(dd, back[3]);
        assertEquals(-127 * dd, back[31]);
    }

    @Test
    void q4kBlockByHand() {
        // every sub-block a ramp 0, 0, 0.1, 0.1, ..., 1.5, 1.5: min 0, max 1.5, quants l / 2 exactly
        float[] x = new float[256];
        for (int i = 0; i < 256; i++) {
            x[i] = (i % 32 / 2) * 0.1f;
        }
        byte[] b = new byte[144];
        Quantizer.quantize(QuantFormat.Q4_K, x, 0, 256, b, 0);
        byte[] want = new byte[144];
        short d = Half.fromFloat(0.1f / 63); // the best sub-block scale 0.1, stored as 63 steps of d
        want[0] = lo(d);
        want[1] = hi(d);
        want[2] = 0; // dmin: no sub-block has a negative minimum
        want[3] = 0;
        for (int j = 0; j < 4; j++) {
            want[4 + j] = (byte) (63 | (3 << 6)); // sub-block j's scale 63, and the top 2 bits of sub-block j+4's scale
            want[4 + j + 4] = 0;                  // sub-block j's min 0 (and the top bits of j+4's min)
            want[4 + j + 8] = 0x0F;               // the low 4 bits of sub-block j+4's scale and min
        }
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int q = l / 2;
                want[16 + 32 * c + l] = (byte) (q | q << 4); // weight 64c + l in the low nibble, 64c + 32 + l in the high
            }
        }
        assertArrayEquals(want, b);
        float[] back = new float[256];
        Quantizer.dequantize(QuantFormat.Q4_K, b, 0, 256, back, 0);
        for (int i = 0; i < 256; i++) {
            assertEquals(Half.toFloat(d) * 63 * (i % 32 / 2), back[i], 0f, "weight " + i);
            assertEquals(x[i], back[i], 1e-3f, "weight " + i);
        }
    }

    @Test
    void q4kPacksScalesAndMinsAsGgmlReadsThem() {
        byte[] s = new byte[12];
        int[] sc = {1, 20, 33, 63, 5, 48, 17, 62};
        int[] m = {63, 2, 40, 9, 61, 3, 30, 16};
        for (int j = 0; j < 8; j++) { // ggml's packing, as quantize_row_q4_K_ref writes it
            if (j < 4) {
                s[j] = (byte) sc[j];
                s[j + 4] = (byte) m[j];
            } else {
                s[j + 4] = (byte) ((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
                s[j - 4] |= (byte) ((sc[j] >> 4) << 6);
                s[j] |= (byte) ((m[j] >> 4) << 6);
            }
        }
        for (int j = 0; j < 8; j++) {
            assertEquals(sc[j], Quantizer.scale(s, 0, j), "scale " + j);
            assertEquals(m[j], Quantizer.min(s, 0, j), "min " + j);
        }
    }

    /** Rows for the kernels: Gaussian, and the awkward blocks (zero, an outlier, subnormal scales, negative zero, extremes). */
    private static float[] matrix(int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.05);
        }
        if (rows > 5) {
            Arrays.fill(w, 0, cols, 0f);                              // row 0: all zero
            w[cols + 7] = 1e4f;                                        // row 1: one huge outlier
            for (int i = 2 * cols; i < 3 * cols; i++) {
                w[i] = (float) (rnd.nextGaussian() * 1e-4);            // row 2: scales below float16's normal range
            }
            Arrays.fill(w, 3 * cols, 4 * cols, -0.0f);                 // row 3: negative zeros
            for (int i = 4 * cols; i < 5 * cols; i++) {
                w[i] = i % 2 == 0 ? 65000f : -65000f;                  // row 4: float16's extremes
            }
        }
        return w;
    }

    private static float[] vector(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return x;
    }

    /** |y - sum_i w_i x_i| within 1e-5 of sum_i |w_i x_i| (relative to the terms: a dot product's own scale). */
    private static void assertDot(float[] w, int row, int cols, float[] x, int xOff, float got, String what) {
        double ref = 0;
        double scale = 0;
        for (int i = 0; i < cols; i++) {
            ref += (double) w[row * cols + i] * x[xOff + i];
            scale += Math.abs((double) w[row * cols + i] * x[xOff + i]);
        }
        assertTrue(Math.abs(got - ref) <= 1e-5 * scale + 1e-30, what + ": got " + got + ", dequantized then multiplied " + ref + " (scale " + scale + ")");
    }

    /** A quantized matrix of each format and shape, with its dequantized weights. */
    private interface MatrixCase {
        void check(QuantFormat f, QuantizedMatrix q, float[] w, int rows, int cols);
    }

    private static void eachMatrix(int[][] shapes, long seed, MatrixCase c) {
        for (QuantFormat f : FORMATS) {
            for (int[] s : shapes) {
                int rows = s[0];
                int cols = s[1];
                QuantizedMatrix q = QuantizedMatrix.quantize(f, matrix(rows, cols, rows * seed + cols), rows, cols);
                float[] w = new float[rows * cols];
                q.dequantizeRows(0, rows, w, 0);
                c.check(f, q, w, rows, cols);
            }
        }
    }

    @Test
    void kernelsMatchDequantizeThenMultiply() {
        eachMatrix(new int[][] {{7, 256}, {131, 512}, {200, 768}, {3, 4096}}, 31, (f, q, w, rows, cols) -> {
            float[] x = vector(cols, 5);
            float[] y = new float[rows];
            q.matvec(x, y, QuantizedMatrix.Decode.JAVA);
            for (int r = 0; r < rows; r++) {
                assertDot(w, r, cols, x, 0, y[r], f + " " + rows + "x" + cols + " matvec row " + r);
            }
            for (int n : new int[] {2, 3, 4, 7, 17}) {
                float[] xs = vector(n * cols, n);
                float[] ys = new float[n * rows];
                q.matmul(xs, n, ys);
                for (int i = 0; i < n; i++) {
                    for (int r = 0; r < rows; r++) {
                        assertDot(w, r, cols, xs, i * cols, ys[i * rows + r], f + " matmul " + n + " rows, row " + r + " of input " + i);
                    }
                }
            }
        });
    }

    /** Activations for the native kernels: Gaussian, and the awkward ones (all zero, an outlier, subnormal values, negative zeros). */
    private static float[][] activations(int cols) {
        float[] zero = new float[cols];
        float[] outlier = vector(cols, 8);
        outlier[cols / 3] = 3e4f;
        float[] tiny = vector(cols, 9);
        for (int i = 0; i < cols; i++) {
            tiny[i] *= 1e-39f;
        }
        float[] negativeZero = new float[cols];
        Arrays.fill(negativeZero, -0.0f);
        return new float[][] {vector(cols, 7), zero, outlier, tiny, negativeZero};
    }

    @Test
    void theNativeKernelsLoadWhereTheyAreBuiltFor() {
        String os = System.getProperty("os.name", "");
        String arch = System.getProperty("os.arch", "");
        boolean avx2 = false;
        boolean avx512 = false;
        try {
            String cpu = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/cpuinfo"));
            avx2 = cpu.contains(" avx2") && cpu.contains(" fma") && cpu.contains(" f16c");
            avx512 = cpu.contains(" avx512f") && cpu.contains(" avx512bw") && cpu.contains(" avx512vl") && cpu.contains(" avx512_vnni");
        } catch (java.io.IOException e) {
            // not Linux: nothing to expect
        }
        boolean expected = os.equals("Linux") && arch.equals("amd64") && avx2 && System.getProperty(NativeKernels.PROPERTY) == null;
        assertEquals(expected, NativeKernels.available(), NativeKernels.status());
        assertTrue(NativeKernels.status().startsWith(expected ? "native int8" : "Java"), NativeKernels.status());
        assertEquals(expected && avx512, NativeKernels.wide(), NativeKernels.status());
        assertEquals(expected && avx512, NativeKernels.status().contains("AVX-512"), NativeKernels.status());
    }

    @Test
    void nativeKernelsMatchDequantizedWeightsTimesTheDequantizedActivation() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        eachMatrix(new int[][] {{7, 256}, {131, 512}, {300, 768}, {3, 4096}}, 17, (f, q, w, rows, cols) -> {
            float[][] xs = activations(cols);
            for (int k = 0; k < xs.length; k++) {
                float[] x = xs[k];
                float[] xd = NativeKernels.activation(f, x, 0, cols).dequantize();
                for (QuantizedMatrix.Decode kernel : NATIVE_KERNELS) { // the widest this CPU runs, and AVX2 alone
                    float[] y = new float[rows];
                    q.matvec(x, y, kernel);
                    for (int r = 0; r < rows; r++) {
                        assertDot(w, r, cols, xd, 0, y[r], f + " " + rows + "x" + cols + " " + kernel + " matvec, activation " + k + ", row " + r);
                    }
                }
            }
        });
    }

    @Test
    void theActivationsEightBitsCostAboutHalfAPercent() {
        // theory: the step is max|x| / 127 over 32 Gaussian values (max about 2.1 sigma), the error uniform within
        // half a step: 2.1 / 127 / sqrt(12) = 0.48% of sigma
        int n = 4096 * 8;
        float[] x = vector(n, 21);
        QuantizedActivation a = QuantizedActivation.quantize(x, 0, n);
        float[] back = a.dequantize();
        for (int i = 0; i < n; i++) {
            assertTrue(a.quants()[i] >= -127, "quants stay within -127..127");
        }
        double rel = relativeError(x, back);
        assertTrue(rel > 0.003 && rel < 0.007, "activation relative RMS error " + rel);
        for (int b = 0; b < n / 32; b++) {
            int sum = 0;
            for (int i = 0; i < 32; i++) {
                sum += a.quants()[32 * b + i];
            }
            assertEquals(sum, a.sums()[b], "block " + b + "'s sum");
        }
        if (NativeKernels.available()) { // and through a matrix: the products move by about as much
            for (QuantFormat f : FORMATS) {
                int rows = 512;
                int cols = 4096;
                SplittableRandom rnd = new SplittableRandom(4);
                float[] wf = new float[rows * cols];
                for (int i = 0; i < wf.length; i++) {
                    wf[i] = (float) (rnd.nextGaussian() * 0.02);
                }
                QuantizedMatrix q = QuantizedMatrix.quantize(f, wf, rows, cols);
                float[] xv = vector(cols, 22);
                float[] yj = new float[rows];
                float[] yn = new float[rows];
                q.matvec(xv, yj, QuantizedMatrix.Decode.JAVA);
                q.matvec(xv, yn, QuantizedMatrix.Decode.NATIVE);
                double relY = relativeError(yj, yn);
                assertTrue(relY > 0.001 && relY < 0.01, f + ": native against Java kernel, relative RMS " + relY);
            }
        }
    }

    @Test
    void groupedActivationBlocksArePowersOfTwoBelowTheirGroupsScaleAndLoseAtMostABit() {
        int n = 4096;
        float[] x = vector(n, 23);
        for (int i = 0; i < 256; i++) { // a group whose blocks' largest values shrink by 2^1.3 from block to block
            x[i] = (float) (Math.pow(2, -(i / 32) * 1.3) * (i % 8 - 3.5) / 3.5);
        }
        x[300] = 40f; // a group with one outlier
        Arrays.fill(x, 512, 768, 0f); // a group of zeros
        for (int i = 800; i < 832; i++) {
            x[i] = 1e-4f * x[i]; // a block 2^8 and more below its group's largest: the largest step
        }
        QuantizedActivation a = QuantizedActivation.quantizeGrouped(x, 0, n);
        QuantizedActivation.Groups g = a.groups();
        for (int b = 0; b < n / 32; b++) {
            float gd = g.scales()[b / 8];
            int f = g.factors()[b];
            assertTrue(f >= 1 && f <= 1 << QuantizedActivation.MAX_SHIFT && Integer.bitCount(f) == 1, "block " + b + "'s factor " + f);
            assertEquals(gd * f / (1 << QuantizedActivation.MAX_SHIFT), a.scales()[b], "block " + b + "'s scale is its group's over 2^e");
            int amax = 0;
            int sum = 0;
            float xmax = 0;
            for (int i = 32 * b; i < 32 * b + 32; i++) {
                amax = Math.max(amax, Math.abs(a.quants()[i]));
                sum += a.quants()[i];
                xmax = Math.max(xmax, Math.abs(x[i]));
            }
            assertTrue(amax <= 127, "block " + b);
            assertEquals(sum, a.sums()[b], "block " + b + "'s sum");
            assertEquals(f * sum, g.factoredSums()[b], "block " + b + "'s factored sum");
            if (xmax > 0 && f > 1) { // not at the largest step: the block uses at least 7 of its 8 bits
                assertTrue(amax >= 63, "block " + b + " reaches only " + amax + " with factor " + f);
            }
        }
        assertEquals(1 << QuantizedActivation.MAX_SHIFT, g.factors()[0], "the first group's largest block has the group's scale");
        assertEquals(1 << QuantizedActivation.MAX_SHIFT - 1, g.factors()[1], "2^-1.3 smaller: one step");
        assertEquals(1 << QuantizedActivation.MAX_SHIFT - 2, g.factors()[2], "2^-2.6 smaller: two steps");
        assertEquals(1, g.factors()[25], "2^13 smaller than its group's largest: the largest step");
        assertEquals(0f, g.scales()[2], "a group of zeros");
        float[] back = a.dequantize();
        for (int i = 0; i < n; i++) {
            assertEquals(x[i], back[i], a.scales()[i / 32] / 2 * 1.0001f, "value " + i + " within half its block's step");
        }
    }

    @Test
    void groupedActivationCostsAtMostABitOverBlocksOfTheirOwn() {
        // Gaussian blocks of 32 differ in their largest value by less than 2x mostly: the grouped form's error sits
        // between the per-block form's 0.48% and twice that
        int n = 4096 * 8;
        float[] x = vector(n, 24);
        double own = relativeError(x, QuantizedActivation.quantize(x, 0, n).dequantize());
        double grouped = relativeError(x, QuantizedActivation.quantizeGrouped(x, 0, n).dequantize());
        assertTrue(grouped >= own && grouped < 2 * own, "grouped " + grouped + " against blocks of their own " + own);
        assertThrows(IllegalArgumentException.class, () -> QuantizedActivation.quantizeGrouped(new float[288], 0, 288));
    }

    /** sqrt(sum (back - x)^2 / sum x^2): {@code back}'s relative RMS error against the reference {@code x}. */
    private static double relativeError(float[] x, float[] back) {
        double err = 0;
        double ref = 0;
        for (int i = 0; i < x.length; i++) {
            err += (back[i] - x[i]) * (double) (back[i] - x[i]);
            ref += x[i] * (double) x[i];
        }
        return Math.sqrt(err / ref);
    }

    @Test
    void nanAndInfinityInTheActivationReachTheResultAsInFloatArithmetic() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        for (QuantFormat f : FORMATS) {
            QuantizedMatrix q = QuantizedMatrix.quantize(f, matrix(4, 256, 5), 4, 256);
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                float[] x = vector(256, 3);
                x[40] = bad;
                for (QuantizedMatrix.Decode kernel : NATIVE_KERNELS) {
                    float[] y = new float[4];
                    q.matvec(x, y, kernel);
                    for (float v : y) {
                        assertTrue(Float.isNaN(v) || Float.isInfinite(v), f + " " + kernel + ": " + bad + " in the activation gave " + v);
                    }
                }
            }
        }
    }

    @Test
    void theNativeCallsCheckTheirBoundsBeforeCallingC() {
        byte[] w = new byte[2 * 34 * 8];
        QuantizedActivation x = QuantizedActivation.quantize(new float[256], 0, 256);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeKernels.rows(QuantFormat.Q8_0, w, 34 * 8, 256, 0, 3, 0, x, new float[3], false));
        assertTrue(e.getMessage().contains("rows 0..3 of 272 bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.rows(QuantFormat.Q8_0, w, 34 * 8, 256, 0, 2, 0, x, new float[1], false));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.rows(QuantFormat.Q8_0, w, 34 * 8, 256, 0, 2, 1, x, new float[2], false));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.rows(QuantFormat.Q4_K, w, 34 * 8, 256, 0, 1, 0, x, new float[1], false));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.rows(QuantFormat.Q8_0, w, 34 * 8, 512, 0, 1, 0, x, new float[1], false));
        assertThrows(IllegalArgumentException.class, () -> QuantizedActivation.quantize(new float[40], 0, 40));
        // a Q4_K row of the right length, but an activation in blocks of their own: the kernel needs its groups' factors
        byte[] q4 = new byte[QuantizedMatrix.Q4K_BLOCK];
        e = assertThrows(IllegalArgumentException.class, () -> NativeKernels.rows(QuantFormat.Q4_K, q4, q4.length, 256, 0, 1, 0, x, new float[1], false));
        assertTrue(e.getMessage().contains("groups of 256"), e.getMessage());
    }

    @Test
    void aMatrixInSeveralArraysComputesExactlyAsInOne() {
        for (QuantFormat f : FORMATS) {
            int rows = 23;
            int cols = 512;
            byte[] gguf = new byte[(int) (rows * f.rowBytes(cols))];
            Quantizer.quantizeRows(f, matrix(rows, cols, 13), rows, cols, gguf, 0);
            QuantizedMatrix one = new QuantizedMatrix(f, rows, cols, gguf.clone(), Integer.MAX_VALUE);
            int rowBytes = (int) (one.bytes() / rows);
            QuantizedMatrix split = new QuantizedMatrix(f, rows, cols, gguf.clone(), 5 * rowBytes + 7); // 5 rows per array: 4 of 5 and one of 3
            assertEquals(rows, one.rowsPerChunk());
            assertEquals(5, split.rowsPerChunk());
            assertEquals(one.bytes(), split.bytes());
            assertArrayEquals(gguf, split.ggufBlocks(), f + ": the GGUF blocks back from five arrays");
            float[] a = new float[rows * cols];
            float[] b = new float[rows * cols];
            one.dequantizeRows(0, rows, a, 0);
            split.dequantizeRows(0, rows, b, 0);
            assertArrayEquals(a, b, 0f, f + ": dequantized");
            float[] x = vector(cols, 31);
            for (QuantizedMatrix.Decode k : QuantizedMatrix.Decode.values()) {
                if (!k.runsHere()) {
                    continue;
                }
                float[] ya = new float[rows];
                float[] yb = new float[rows];
                one.matvec(x, ya, k);
                split.matvec(x, yb, k);
                assertArrayEquals(ya, yb, 0f, f + " " + k + ": the mat-vec");
            }
            float[] xs = vector(7 * cols, 32);
            float[] ya = new float[7 * rows];
            float[] yb = new float[7 * rows];
            one.matmul(xs, 7, ya);
            split.matmul(xs, 7, yb);
            assertArrayEquals(ya, yb, 0f, f + ": seven rows");
        }
    }

    @Test
    void theMatrixHoldsExactlyTheGgufBlocksItWasGiven() {
        for (QuantFormat f : FORMATS) {
            int rows = 9;
            int cols = 768;
            float[] src = matrix(rows, cols, 11);
            byte[] gguf = new byte[(int) (rows * f.rowBytes(cols))];
            Quantizer.quantizeRows(f, src, rows, cols, gguf, 0);
            QuantizedMatrix q = new QuantizedMatrix(f, rows, cols, gguf.clone());
            assertArrayEquals(gguf, q.ggufBlocks(), f + ": the in-memory blocks convert back to GGUF's bytes");
            float[] ref = new float[rows * cols];
            Quantizer.dequantize(f, gguf, 0, rows * cols, ref, 0);
            float[] got = new float[rows * cols];
            q.dequantizeRows(0, rows, got, 0);
            assertArrayEquals(ref, got, 0f, f + ": dequantized from memory as ggml dequantizes the GGUF blocks");
            float[] part = new float[3 * cols];
            q.dequantizeRows(4, 7, part, 0);
            assertArrayEquals(Arrays.copyOfRange(ref, 4 * cols, 7 * cols), part, 0f, f + ": rows 4..6");
        }
    }

    @Test
    void awkwardBlocksDequantizeAsGgmlWould() {
        for (QuantFormat f : FORMATS) {
            int cols = 256;
            QuantizedMatrix q = QuantizedMatrix.quantize(f, matrix(6, cols, 3), 6, cols);
            float[] w = new float[6 * cols];
            q.dequantizeRows(0, 6, w, 0);
            for (int i = 0; i < cols; i++) {
                assertEquals(0f, w[i], 0f, f + ": an all-zero row stays zero");
                assertEquals(0f, w[3 * cols + i], 0f, f + ": negative zeros stay zero");
            }
            assertEquals(1e4f, w[cols + 7], 1e4f * (f == QuantFormat.Q8_0 ? 1e-3f : 0.02f), f + ": the outlier survives");
            for (int i = 4 * cols; i < 5 * cols; i++) {
                assertEquals(i % 2 == 0 ? 65000f : -65000f, w[i], 65000f * 0.01f, f + ": float16's extremes stay finite and close, weight " + i);
            }
        }
    }

    @Test
    void roundTripErrorOnGaussianWeights() {
        // theory for Q8_0: the step is max|x| / 127 over 32 Gaussian weights (max about 2.1 sigma), the
        // error uniform within half a step: 2.1 / 127 / sqrt(12) = 0.48% of sigma; Q4_K's 4-bit steps over
        // each 32 weights' range, with the fitted scale and min, a few percent
        int rows = 64;
        int cols = 4096;
        float[] w = new float[rows * cols];
        SplittableRandom rnd = new SplittableRandom(11);
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        for (QuantFormat f : FORMATS) {
            float[] back = new float[w.length];
            QuantizedMatrix.quantize(f, w, rows, cols).dequantizeRows(0, rows, back, 0);
            double rel = relativeError(w, back);
            System.out.printf("[report] %s round trip on N(0, 1) weights: relative RMS error %.3f%%%n", f, 100 * rel);
            if (f == QuantFormat.Q8_0) {
                assertTrue(rel > 0.003 && rel < 0.007, "Q8_0 relative RMS error " + rel);
            } else {
                assertTrue(rel > 0.03 && rel < 0.09, "Q4_K relative RMS error " + rel);
            }
        }
    }

    @Test
    void notANumberFailsNamingRowAndColumn() {
        float[] w = new float[4 * 256];
        w[2 * 256 + 9] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantizedMatrix.quantize(QuantFormat.Q8_0, w, 4, 256));
        assertEquals("row 2: weight 9 of the row is NaN: cannot be quantized", e.getMessage());
        w[2 * 256 + 9] = 0;
        w[3 * 256] = Float.NEGATIVE_INFINITY;
        e = assertThrows(IllegalArgumentException.class, () -> QuantizedMatrix.quantize(QuantFormat.Q4_K, w, 4, 256));
        assertEquals("row 3: weight 0 of the row is -Infinity: cannot be quantized", e.getMessage());
    }

    @Test
    void rowLengthsMustBeWholeBlocks() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantizedMatrix.quantize(QuantFormat.Q4_K, new float[300], 1, 300));
        assertEquals("matrix: rows of 300 weights cannot be stored as Q4_K, which needs a multiple of 256", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new QuantizedMatrix(QuantFormat.Q8_0, 2, 64, new byte[100]));
        assertEquals("Q8_0 matrix 2 x 64 needs 136 bytes, got 100", e.getMessage());
    }
}
