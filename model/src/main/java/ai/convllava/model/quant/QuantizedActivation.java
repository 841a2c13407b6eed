package ai.convllava.model.quant;

/**
 * An activation row quantized to int8 for the native kernels ({@link NativeKernels}), in blocks of 32 as Q8_0
 * quantizes weights but with a float32 scale: {@code x[i] ~ scales[i / 32] * quants[i]}. llama.cpp quantizes
 * the activation the same way before its integer dot products; blocks of 32 (not its 256 for 4-bit weights)
 * keep one large activation from coarsening 255 others.
 *
 * @param quants the int8 values, {@code -127..127}
 * @param scales one per 32 values; 0 for a block of zeros, NaN or infinite where the block holds NaN or an infinity,
 *               so those reach the result as they would in float arithmetic
 * @param sums   per block, the sum of its quants: Q4_K's mins multiply the sum of each 32 activations
 */
record QuantizedActivation(byte[] quants, float[] scales, int[] sums) {

    /** Values {@code [off, off + n)} of {@code x}; {@code n} a multiple of 32. */
    static QuantizedActivation quantize(float[] x, int off, int n) {
        if (n % 32 != 0 || off < 0 || off + n > x.length) {
            throw new IllegalArgumentException("activation of " + n + " values from " + off + " in an array of " + x.length
                    + ": needs a multiple of 32 inside the array");
        }
        byte[] q = new byte[n];
        float[] d = new float[n / 32];
        int[] s = new int[n / 32];
        for (int b = 0; b < n / 32; b++) {
            int o = off + 32 * b;
            float amax = 0;
            for (int i = 0; i < 32; i++) {
                amax = Math.max(amax, Math.abs(x[o + i])); // NaN wins Math.max: the block's scale becomes NaN
            }
            if (amax == 0) {
                continue; // all zero: quants and scale 0
            }
            float scale = amax / 127f;
            float inv = 127f / amax;
            int sum = 0;
            for (int i = 0; i < 32; i++) {
                int v = Math.round(x[o + i] * inv); // NaN and infinity * 0 round to 0; the scale carries them
                v = Math.max(-127, Math.min(127, v));
                q[32 * b + i] = (byte) v;
                sum += v;
            }
            d[b] = Float.isFinite(amax) ? scale : amax;
            s[b] = sum;
        }
        return new QuantizedActivation(q, d, s);
    }

    /** The values as floats, what the native kernels multiply: for tests. */
    float[] dequantize() {
        float[] out = new float[quants.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = scales[i / 32] * quants[i];
        }
        return out;
    }
}
