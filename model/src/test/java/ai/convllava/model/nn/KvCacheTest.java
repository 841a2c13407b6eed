package ai.convllava.model.nn;

import ai.convllava.model.api.WeightFormat;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The 8-bit KV cache (beside quantized weights): what it reads back, against hand-worked rows and the float32 it replaced. */
class KvCacheTest {
    private static final int HEADS = 2;
    private static final int D = 128;

    private static float[] gaussian(int n, long seed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /** Writes (HEADS, t, D) keys and values {@code x} at position 0 and reads both back as float32. */
    private static float[][] roundTrip(NDManager m, DataType type, float[] x, int t, int capacity) {
        try (KvCache c = new KvCache(m, 1, HEADS, D, capacity, 4096, type)) {
            NDArray a = m.create(x, new Shape(HEADS, t, D));
            c.reserve(t);
            c.write(0, a, a.neg(), 0);
            c.advance(t);
            return new float[][] {c.keys(0, t).toType(DataType.FLOAT32, false).toFloatArray(),
                    c.values(0, t).toType(DataType.FLOAT32, false).toFloatArray()};
        }
    }

    @Test
    void int8KeysAndValuesReadBackWithinHalfAStepOfTheirRowsScale() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            int t = 7;
            float[] x = gaussian(HEADS * t * D, 1);
            float[][] back = roundTrip(m, DataType.INT8, x, t, 16);
            double err = 0;
            double norm = 0;
            for (int row = 0; row < HEADS * t; row++) {
                float max = 0;
                for (int i = 0; i < D; i++) {
                    max = Math.max(max, Math.abs(x[row * D + i]));
                }
                float step = max / 127;
                for (int i = 0; i < D; i++) {
                    int k = row * D + i;
                    assertTrue(Math.abs(back[0][k] - x[k]) <= step / 2 * 1.0001f, "key " + k + ": " + back[0][k] + " for " + x[k]);
                    assertEquals(-back[0][k], back[1][k], 0f, "values are quantized alike");
                    err += (back[0][k] - x[k]) * (double) (back[0][k] - x[k]);
                    norm += x[k] * (double) x[k];
                }
            }
            double rel = Math.sqrt(err / norm);
            System.out.printf("int8 KV cache, N(0,1) rows of 128: relative RMS error %.3f%%%n", 100 * rel);
            assertTrue(rel > 0.001 && rel < 0.01, "relative RMS error " + rel);
        }
    }

    @Test
    void handWorkedRows() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            float[] x = new float[HEADS * D];
            // head 0: all zero (and a negative zero): reads back as zeros, not NaN
            x[3] = -0f;
            // head 1: one outlier of 254 and small values: scale 2, so 1.0 -> 0.5 -> rounds to 0 (half to even), 3.0 -> 1.5 -> 2 -> 4.0
            x[D] = 254f;
            x[D + 1] = 1f;
            x[D + 2] = 3f;
            x[D + 3] = -127f;
            float[] k = roundTrip(m, DataType.INT8, x, 1, 16)[0];
            for (int i = 0; i < D; i++) {
                assertEquals(0f, Math.abs(k[i]), 0f, "an all-zero head stays zero at " + i);
            }
            assertEquals(254f, k[D], 0f);
            assertEquals(0f, k[D + 1], 0f);
            assertEquals(4f, k[D + 2], 0f);
            assertEquals(-128f, k[D + 3], 0f, "-127 / 2 = -63.5 rounds to -64 (half to even), times 2");
        }
    }

    @Test
    void growingKeepsWhatWasWritten() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            int t = 20;
            float[] x = gaussian(HEADS * t * D, 2);
            // capacity 16 grows to 32 on the way: the same numbers as a cache that never grew
            assertArrayEquals(roundTrip(m, DataType.INT8, x, t, 64)[0], roundTrip(m, DataType.INT8, x, t, 16)[0], 0f);
            try (KvCache c = new KvCache(m, 1, HEADS, D, 16, 4096, DataType.INT8)) {
                NDArray a = m.create(gaussian(HEADS * 10 * D, 3), new Shape(HEADS, 10, D));
                c.reserve(10);
                c.write(0, a, a, 0);
                c.advance(10);
                float[] before = c.keys(0, 10).toFloatArray();
                c.reserve(30); // 16 -> 64
                assertArrayEquals(before, c.keys(0, 10).toFloatArray(), 0f);
            }
        }
    }

    /**
     * The native decode attention over the int8 rows in place against libtorch's arithmetic on the same cache widened to
     * float32 (LlamaAttention's other path): grouped heads (4 query heads over 2 KV heads), a cache that grew on the way,
     * one large key among the positions; outputs and probabilities within 1e-5 of each head's scale.
     */
    @Test
    void nativeDecodeAttentionMatchesLibtorchOnTheSameCache() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            org.junit.jupiter.api.Assumptions.assumeTrue(ai.convllava.model.quant.Int8KvAttention.available(D), "no native kernels here");
            int heads = 4;
            float scale = (float) (1 / Math.sqrt(D));
            for (int n : new int[] {1, 7, 37, 300}) {
                try (KvCache c = new KvCache(m, 1, HEADS, D, 16, 4096, DataType.INT8)) {
                    float[] kx = gaussian(HEADS * n * D, n);
                    kx[D * (n / 2) + 3] = 40f; // one position the query will favour strongly
                    c.reserve(n);
                    c.write(0, m.create(kx, new Shape(HEADS, n, D)), m.create(gaussian(HEADS * n * D, n + 1), new Shape(HEADS, n, D)), 0);
                    c.advance(n);
                    assertTrue(c.attendsInt8Natively());
                    float[] q = gaussian(heads * D, 99);
                    float[] out = new float[heads * D];
                    float[] probs = new float[heads * n];
                    assertTrue(c.attendInt8(0, q, heads, n, scale, out, probs));
                    // libtorch: (KV, rep, D) x (KV, D, n) -> softmax -> x (KV, n, D)
                    NDArray qg = m.create(q, new Shape(HEADS, heads / HEADS, D));
                    NDArray p = qg.matMul(c.keys(0, n).transpose(0, 2, 1)).muli(scale).softmax(-1); // (KV, rep, n)
                    float[] wantP = p.toFloatArray();
                    float[] want = p.matMul(c.values(0, n)).toFloatArray(); // (KV, rep, D)
                    for (int i = 0; i < wantP.length; i++) {
                        assertEquals(wantP[i], probs[i], 1e-5, n + " positions: probability " + i);
                    }
                    for (int h = 0; h < heads; h++) {
                        double size = 0;
                        for (int i = 0; i < D; i++) {
                            size = Math.max(size, Math.abs(want[h * D + i]));
                        }
                        for (int i = 0; i < D; i++) {
                            assertEquals(want[h * D + i], out[h * D + i], 1e-5 * size + 1e-7, n + " positions: head " + h + " value " + i);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aTokenWrittenInPlaceReadsBackExactlyAsTheTensorWrite() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            int positions = 40;
            float[] rows = gaussian(positions * HEADS * D, 7); // (positions, HEADS, D): each position's heads in order
            for (int i = 0; i < D; i++) {
                rows[i] = i == 5 ? -0f : 0f; // position 0, head 0: all zero and a negative zero
            }
            rows[HEADS * D + D + 3] = 3000f; // position 1, head 1: one outlier
            int tie = 2 * HEADS * D; // position 2, head 0: scale 2, so 1.0 and 3.0 are ties (half to even: 0 and 2)
            rows[tie] = 254f;
            rows[tie + 1] = 1f;
            rows[tie + 2] = 3f;
            try (KvCache tensors = new KvCache(m, 2, HEADS, D, 16, 4096, DataType.INT8);
                 KvCache inPlace = new KvCache(m, 2, HEADS, D, 16, 4096, DataType.INT8)) {
                org.junit.jupiter.api.Assumptions.assumeTrue(inPlace.int8InPlace(), "libtorch does not hand out the cache's memory here");
                for (int p = 0; p < positions; p++) { // past the first capacity: the in-place cache grows and must drop its old buffers
                    float[] k = java.util.Arrays.copyOfRange(rows, p * HEADS * D, (p + 1) * HEADS * D);
                    float[] v = k.clone();
                    for (int i = 0; i < v.length; i++) {
                        v[i] = -0.5f * v[i];
                    }
                    tensors.reserve(1);
                    inPlace.reserve(1);
                    for (int l = 0; l < 2; l++) {
                        tensors.write(l, m.create(k, new Shape(HEADS, 1, D)), m.create(v, new Shape(HEADS, 1, D)), p); // (HEADS, D) -> (HEADS, 1, D)
                        assertTrue(inPlace.writeInt8(l, k, v, p));
                    }
                    tensors.advance(1);
                    inPlace.advance(1);
                }
                for (int l = 0; l < 2; l++) { // int8 times scale: equal everywhere only if both are
                    assertArrayEquals(tensors.keys(l, positions).toFloatArray(), inPlace.keys(l, positions).toFloatArray(), 0f, "layer " + l + " keys");
                    assertArrayEquals(tensors.values(l, positions).toFloatArray(), inPlace.values(l, positions).toFloatArray(), 0f, "layer " + l + " values");
                }
                float[] tieRow = inPlace.keys(0, 3).toFloatArray(); // (HEADS, 3, D) widened
                assertEquals(0f, tieRow[2 * D + 1], 0f, "1.0 at scale 2 rounds half to even, to 0");
                assertEquals(4f, tieRow[2 * D + 2], 0f, "3.0 at scale 2 rounds half to even, to 2 steps");
            }
        }
    }

    @Test
    void bytesPerPosition() {
        // 7B: 32 heads of 128; int8 values plus a float32 scale per head, for keys and values: what the estimates count
        assertEquals(2 * 32 * 128 + 2 * 32 * 4, 2 * 32 * 128 * WeightFormat.Q4_K.cpuKvCacheBytesPerValue(128), 0);
        assertEquals(2 * 32 * 128 + 2 * 32 * 4, 2 * 32 * 128 * WeightFormat.Q8_0.cpuKvCacheBytesPerValue(128), 0);
        assertEquals(2 * 32 * 128 * 4, 2 * 32 * 128 * WeightFormat.F16.cpuKvCacheBytesPerValue(128), 0);
        assertEquals(2 * 32 * 128 * 4, 2 * 32 * 128 * WeightFormat.F32.cpuKvCacheBytesPerValue(128), 0);
    }
}
