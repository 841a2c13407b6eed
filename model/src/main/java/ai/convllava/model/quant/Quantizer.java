package ai.convllava.model.quant;

import ai.convllava.model.checkpoint.Half;

/**
 * Float32 rows to quantized blocks and back, as llama.cpp's reference code does it
 * ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_K_ref} with {@code make_qkx2_quants},
 * {@code dequantize_row_q8_0}, {@code dequantize_row_q4_K} in ggml-quants.c), so a file written here
 * holds the blocks llama.cpp would write for the same weights. Scalar Java: quantizing is done once per
 * model ({@code models quantize}); the kernels in {@link QuantizedMatrix} read the blocks.
 */
public final class Quantizer {
    private static final int QK_K = 256;

    private Quantizer() {
    }

    /**
     * Quantizes {@code n} weights of {@code x} from {@code xOff} into {@code out} at {@code outOff}.
     *
     * @throws IllegalArgumentException when a weight is NaN or infinite (naming its index), or n is not a whole number of blocks
     */
    public static void quantize(QuantFormat f, float[] x, int xOff, int n, byte[] out, int outOff) {
        if (n % f.blockSize != 0) {
            throw new IllegalArgumentException(n + " weights are not a whole number of " + f + " blocks of " + f.blockSize);
        }
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            if (Float.isNaN(v) || Float.isInfinite(v)) {
                throw new IllegalArgumentException("weight " + i + " of the row is " + v + ": cannot be quantized");
            }
        }
        switch (f) {
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    quantizeQ8Block(x, xOff + b * 32, out, outOff + b * 34);
                }
            }
            case Q4_K -> {
                for (int b = 0; b < n / QK_K; b++) {
                    quantizeQ4KBlock(x, xOff + b * QK_K, out, outOff + b * 144);
                }
            }
            default -> throw new IllegalArgumentException("unknown format " + f);
        }
    }

    /**
     * Quantizes {@code n} rows of {@code in} weights (row-major in {@code rows}) into {@code out} from
     * {@code outOff}, on all cores.
     *
     * @throws IllegalArgumentException naming the row and the weight when one is NaN or infinite
     */
    public static void quantizeRows(QuantFormat f, float[] rows, int n, int in, byte[] out, int outOff) {
        int rowBytes = (int) f.rowBytes(in);
        RowPool.forRows(n, 8, (a, b) -> {
            for (int r = a; r < b; r++) {
                try {
                    quantize(f, rows, r * in, in, out, outOff + r * rowBytes);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("row " + r + ": " + e.getMessage(), e);
                }
            }
        });
    }

    /** The {@code n} weights stored from {@code inOff}, as float32, into {@code y} at {@code yOff}. */
    public static void dequantize(QuantFormat f, byte[] in, long inOff, int n, float[] y, int yOff) {
        float[] half = Half.table();
        switch (f) {
            case Q8_0 -> {
                for (int b = 0; b < n / 32; b++) {
                    int p = Math.toIntExact(inOff + b * 34L);
                    float d = half[(in[p] & 0xff) | (in[p + 1] & 0xff) << 8];
                    for (int j = 0; j < 32; j++) {
                        y[yOff + b * 32 + j] = in[p + 2 + j] * d;
                    }
                }
            }
            case Q4_K -> {
                for (int b = 0; b < n / QK_K; b++) {
                    int p = Math.toIntExact(inOff + b * 144L);
                    float d = half[(in[p] & 0xff) | (in[p + 1] & 0xff) << 8];
                    float dmin = half[(in[p + 2] & 0xff) | (in[p + 3] & 0xff) << 8];
                    int o = yOff + b * QK_K;
                    for (int c = 0; c < 4; c++) {
                        int q = p + 16 + 32 * c;
                        float d1 = d * scale(in, p + 4, 2 * c);
                        float m1 = dmin * min(in, p + 4, 2 * c);
                        float d2 = d * scale(in, p + 4, 2 * c + 1);
                        float m2 = dmin * min(in, p + 4, 2 * c + 1);
                        for (int l = 0; l < 32; l++) {
                            y[o + 64 * c + l] = d1 * (in[q + l] & 0xF) - m1;
                        }
                        for (int l = 0; l < 32; l++) {
                            y[o + 64 * c + 32 + l] = d2 * ((in[q + l] & 0xff) >> 4) - m2;
                        }
                    }
                }
            }
            default -> throw new IllegalArgumentException("unknown format " + f);
        }
    }

    /** Sub-block {@code j}'s 6-bit scale from the 12 packed bytes at {@code s} (ggml's get_scale_min_k4). */
    static int scale(byte[] b, int s, int j) {
        return j < 4 ? b[s + j] & 63 : (b[s + j + 4] & 0xF) | (((b[s + j - 4] & 0xff) >> 6) << 4);
    }

    /** Sub-block {@code j}'s 6-bit min. */
    static int min(byte[] b, int s, int j) {
        return j < 4 ? b[s + j + 4] & 63 : ((b[s + j + 4] & 0xff) >> 4) | (((b[s + j] & 0xff) >> 6) << 4);
    }

    // ---- Q8_0 ----------------------------------------------------------------------------------------

    private static void quantizeQ8Block(float[] x, int xo, byte[] out, int o) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[xo + j]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        short h = Half.fromFloat(d);
        out[o] = (byte) h;
        out[o + 1] = (byte) (h >> 8);
        for (int j = 0; j < 32; j++) {
            out[o + 2 + j] = (byte) roundf(x[xo + j] * id);
        }
    }

    /** C's roundf: half away from zero. */
    private static int roundf(float v) {
        return (int) (v < 0 ? -Math.floor(-v + 0.5f) : Math.floor(v + 0.5f));
    }

    // ---- Q4_K ----------------------------------------------------------------------------------------

    private static void quantizeQ4KBlock(float[] x, int xo, byte[] out, int o) {
        byte[] L = new byte[QK_K];
        byte[] laux = new byte[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) {
                sumX2 += x[xo + 32 * j + l] * x[xo + 32 * j + l];
            }
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) {
                weights[l] = avX + Math.abs(x[xo + 32 * j + l]);
            }
            float[] theMin = new float[1];
            scales[j] = makeQkx2Quants(32, 15, x, xo + 32 * j, weights, L, 32 * j, theMin, laux, -1.f, 0.1f, 20);
            mins[j] = theMin[0];
            if (scales[j] > maxScale) {
                maxScale = scales[j];
            }
            if (mins[j] > maxMin) {
                maxMin = mins[j];
            }
        }
        float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
        float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
        int s = o + 4;
        for (int i = 0; i < 12; i++) {
            out[s + i] = 0;
        }
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xff);
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xff);
            if (j < 4) {
                out[s + j] = (byte) ls;
                out[s + j + 4] = (byte) lm;
            } else {
                out[s + j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                out[s + j - 4] |= (byte) ((ls >> 4) << 6);
                out[s + j] |= (byte) ((lm >> 4) << 6);
            }
        }
        short hd = Half.fromFloat(maxScale / 63.f);
        short hm = Half.fromFloat(maxMin / 63.f);
        out[o] = (byte) hd;
        out[o + 1] = (byte) (hd >> 8);
        out[o + 2] = (byte) hm;
        out[o + 3] = (byte) (hm >> 8);
        float d0 = Half.toFloat(hd);
        float dmin0 = Half.toFloat(hm);
        for (int j = 0; j < 8; j++) {
            float d = d0 * scale(out, s, j);
            if (d == 0) {
                continue;
            }
            float dm = dmin0 * min(out, s, j);
            for (int ii = 0; ii < 32; ii++) {
                int l = nearestInt((x[xo + 32 * j + ii] + dm) / d);
                L[32 * j + ii] = (byte) Math.max(0, Math.min(15, l));
            }
        }
        int q = o + 16;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; l++) {
                out[q + l] = (byte) (L[j + l] | (L[j + l + 32] << 4));
            }
            q += 32;
        }
    }

    /** ggml's nearest_int: float32 round half to even (its 1.5 * 2^23 trick). */
    static int nearestInt(float v) {
        return (int) Math.rint(v);
    }

    /** ggml's make_qkx2_quants (use_mad false): the scale and (negated) min that fit {@code n} weights to 0..nmax. */
    private static float makeQkx2Quants(int n, int nmax, float[] x, int xo, float[] w, byte[] L, int lo, float[] theMin, byte[] laux,
                                        float rmin, float rdelta, int nstep) {
        float min = x[xo];
        float max = x[xo];
        float sumW = w[0];
        float sumX = sumW * x[xo];
        for (int i = 1; i < n; i++) {
            if (x[xo + i] < min) {
                min = x[xo + i];
            }
            if (x[xo + i] > max) {
                max = x[xo + i];
            }
            sumW += w[i];
            sumX += w[i] * x[xo + i];
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                L[lo + i] = 0;
            }
            theMin[0] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestMad = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (x[xo + i] - min));
            L[lo + i] = (byte) Math.max(0, Math.min(nmax, l));
            float diff = scale * L[lo + i] + min - x[xo + i];
            bestMad += w[i] * diff * diff;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXl = 0;
            for (int i = 0; i < n; i++) {
                int l = nearestInt(iscale * (x[xo + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                laux[i] = (byte) l;
                sumL += w[i] * l;
                sumL2 += w[i] * l * l;
                sumXl += w[i] * l * x[xo + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float mad = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * laux[i] + thisMin - x[xo + i];
                    mad += w[i] * diff * diff;
                }
                if (mad < bestMad) {
                    System.arraycopy(laux, 0, L, lo, n);
                    bestMad = mad;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[0] = -min;
        return scale;
    }
}
