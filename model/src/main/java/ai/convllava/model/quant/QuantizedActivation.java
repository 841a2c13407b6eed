package ai.convllava.model.quant;

import java.util.Arrays;

/**
 * An activation row quantized to int8 for the native kernels ({@link NativeKernels}), in blocks of 32:
 * {@code x[i] ~ scales[i / 32] * quants[i]}. llama.cpp quantizes the activation before its integer dot products
 * too, in blocks of 32 for 8-bit weights and of 256 for 4-bit ones; blocks of 32 keep one large activation from
 * coarsening 255 others.
 *
 * <p>Two forms. {@link #quantize}: each block of 32 has its own float32 scale (for Q8_0, whose kernel converts
 * each block's sum to float anyway). {@link #quantizeGrouped}: within each group of 256 values the eight blocks'
 * scales are the group's scale divided by a power of two, {@code scales[j] = groupScale / 2^e_j} with
 * {@code 0 <= e_j <= }{@value #MAX_SHIFT}, so a Q4_K kernel can sum a whole 256-weight block in integers and
 * convert once per block, as llama.cpp's does with one scale per 256 (docs/bench/quant.md, "Activation groups").
 * A block then takes the smallest such scale that holds its largest value: at most twice its own, one bit of
 * its eight, where one scale per 256 would coarsen a block by as many bits as its values are smaller than the
 * group's largest.
 *
 * @param quants the int8 values, {@code -127..127}
 * @param scales one per 32 values; 0 for a block of zeros, NaN or infinite where the block (grouped: the group)
 *               holds NaN or an infinity, so those reach the result as they would in float arithmetic
 * @param sums   per block, the sum of its quants: Q4_K's mins multiply the sum of each 32 activations
 * @param groups the grouped form's integer factors, or null
 */
record QuantizedActivation(byte[] quants, float[] scales, int[] sums, Groups groups) {

    /** The largest power-of-two step between a group's scale and a block's: the factors below stay within 8 bits. */
    static final int MAX_SHIFT = 8;

    /**
     * The grouped form's numbers, as the Q4_K kernel multiplies them: block j's values are
     * {@code scales[g] * 2^-MAX_SHIFT * factors[j] * quants}, {@code factors[j] = 2^(MAX_SHIFT - e_j)}.
     *
     * @param scales       one per 256 values: the scale of the group's largest block, {@code max|x| / 127}
     * @param factors      one per 32 values, {@code 1..2^MAX_SHIFT}
     * @param factoredSums one per 32 values, {@code factors[j] * sums[j]}
     */
    record Groups(float[] scales, short[] factors, int[] factoredSums) {
    }

    /** Values {@code [off, off + n)} of {@code x}, each block of 32 with its own scale; {@code n} a multiple of 32. */
    static QuantizedActivation quantize(float[] x, int off, int n) {
        check(x, off, n, 32);
        byte[] q = new byte[n];
        float[] d = new float[n / 32];
        int[] s = new int[n / 32];
        for (int b = 0; b < n / 32; b++) {
            float amax = blockMax(x, off + 32 * b);
            if (amax == 0) {
                continue; // all zero: quants and scale 0
            }
            s[b] = round(x, off + 32 * b, 127.0 / amax, q, 32 * b);
            d[b] = Float.isFinite(amax) ? amax / 127f : amax;
        }
        return new QuantizedActivation(q, d, s, null);
    }

    /**
     * Values {@code [off, off + n)} of {@code x} in groups of 256, the blocks' scales powers of two apart (the class
     * comment); {@code n} a multiple of 256.
     */
    static QuantizedActivation quantizeGrouped(float[] x, int off, int n) {
        check(x, off, n, 256);
        byte[] q = new byte[n];
        float[] d = new float[n / 32];
        int[] s = new int[n / 32];
        float[] gd = new float[n / 256];
        short[] f = new short[n / 32];
        int[] fs = new int[n / 32];
        float[] amax = new float[8];
        for (int g = 0; g < n / 256; g++) {
            float gmax = 0;
            for (int j = 0; j < 8; j++) {
                amax[j] = blockMax(x, off + 256 * g + 32 * j);
                gmax = Math.max(gmax, amax[j]); // NaN wins: the group's scale becomes NaN
            }
            if (gmax == 0 || !Float.isFinite(gmax)) { // a group of zeros, NaN or infinity: quants 0, the scales carry it
                gd[g] = gmax;
                Arrays.fill(d, 8 * g, 8 * g + 8, gmax);
                Arrays.fill(f, 8 * g, 8 * g + 8, (short) (1 << MAX_SHIFT));
                continue;
            }
            gd[g] = gmax / 127f;
            for (int j = 0; j < 8; j++) {
                int b = 8 * g + j;
                // the largest step e that keeps the block's largest value within 127, amax * 2^e <= gmax: the exponents'
                // difference, or one less where the block's mantissa is the larger (a zero or subnormal block: the cap)
                int e = Math.min(MAX_SHIFT, Math.getExponent(gmax) - Math.getExponent(amax[j]));
                if (Math.scalb(amax[j], e) > gmax) {
                    e--;
                }
                f[b] = (short) (1 << (MAX_SHIFT - e));
                d[b] = Math.scalb(gd[g], -e);
                if (amax[j] != 0) {
                    s[b] = round(x, off + 32 * b, Math.scalb(127.0 / gmax, e), q, 32 * b);
                    fs[b] = f[b] * s[b];
                }
            }
        }
        return new QuantizedActivation(q, d, s, new Groups(gd, f, fs));
    }

    private static void check(float[] x, int off, int n, int multiple) {
        if (n % multiple != 0 || off < 0 || off + n > x.length) {
            throw new IllegalArgumentException("activation of " + n + " values from " + off + " in an array of " + x.length
                    + ": needs a multiple of " + multiple + " inside the array");
        }
    }

    /** The largest |value| of the 32 from {@code o}; NaN if one is NaN. */
    private static float blockMax(float[] x, int o) {
        float amax = 0;
        for (int i = 0; i < 32; i++) {
            amax = Math.max(amax, Math.abs(x[o + i])); // NaN wins Math.max
        }
        return amax;
    }

    /**
     * 32 values from {@code o} times {@code inv}, rounded into {@code q} from {@code qo}; returns their sum. In double: 127
     * over a block's largest value overflows float where the values are subnormal.
     */
    private static int round(float[] x, int o, double inv, byte[] q, int qo) {
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            int v = (int) Math.round(x[o + i] * inv); // NaN and infinity * 0 round to 0; the scale carries them
            v = Math.max(-127, Math.min(127, v));
            q[qo + i] = (byte) v;
            sum += v;
        }
        return sum;
    }

    /** The values as floats, what the native kernels multiply: for tests and reference checks. */
    float[] dequantize() {
        float[] out = new float[quants.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = scales[i / 32] * quants[i];
        }
        return out;
    }
}
