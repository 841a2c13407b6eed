package ai.convllava.model.nn;

import ai.convllava.model.api.JitOptions;

import ai.convllava.model.checkpoint.Half;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The Java float16 kernel against a reference computed in double from the same half values, on
 * shapes that hit every tail (inputs not a multiple of 16 or of the 2048-input block, outputs not a
 * multiple of 3, 4 or the 48-row chunk, rows not a multiple of the 3-row tile), special halves, and
 * through {@link LinearLayer} on libtorch tensors (bias, in-place view, use after close).
 */
class HalfMatmulTest {
    @BeforeEach
    void kernelAvailable() {
        assumeTrue(HalfKernelSupport.reasonUnavailable() == null, "Java float16 kernel unavailable: " + HalfKernelSupport.reasonUnavailable());
        LinearLayer.setHalfKernelEnabled(true);
    }

    private static ByteBuffer halves(short[] w) {
        ByteBuffer b = ByteBuffer.allocateDirect(w.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < w.length; i++) {
            b.putShort(i * 2, w[i]);
        }
        return b;
    }

    private static short[] randomHalves(Random r, int n) {
        short[] w = new short[n];
        for (int i = 0; i < n; i++) {
            w[i] = Half.fromFloat((float) (r.nextGaussian() * 0.05));
        }
        return w;
    }

    /** Checks y against sum_k W[n,k] x[m,k] in double: error within 2^-20 of sum |W x| (float32 accumulation). */
    private static void assertMatches(short[] w, int out, int in, float[] x, int rows, float[] y, String what) {
        assertEquals(rows * out, y.length, what);
        for (int m = 0; m < rows; m++) {
            for (int n = 0; n < out; n++) {
                double s = 0;
                double mag = 0;
                for (int k = 0; k < in; k++) {
                    double p = (double) Half.toFloat(w[n * in + k]) * x[m * in + k];
                    s += p;
                    mag += Math.abs(p);
                }
                double tol = mag * 0x1p-20 + 1e-30;
                assertEquals(s, y[m * out + n], tol, what + ": y[" + m + "][" + n + "]");
            }
        }
    }

    @Test
    void matchesTheDoubleReferenceOnEveryTailShape() {
        Random r = new Random(7);
        int[][] shapes = {{1, 1}, {2, 7}, {3, 15}, {5, 16}, {4, 17}, {7, 33}, {49, 88}, {97, 32}, {50, 2088}, {11, 4100}};
        int[] rowCounts = {1, 2, 3, 4, 5, 7, 17};
        for (int[] s : shapes) {
            int out = s[0];
            int in = s[1];
            short[] w = randomHalves(r, out * in);
            ByteBuffer wb = halves(w);
            for (int rows : rowCounts) {
                float[] x = new float[rows * in];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
                float[] y = HalfMatmul.multiply(wb, out, in, x, rows);
                assertMatches(w, out, in, x, rows, y, out + "x" + in + ", " + rows + " rows");
            }
        }
    }

    /** Callers on several threads at once (the service's engine thread, a draft, a test) each get their own buffers. */
    @Test
    void concurrentCallersOnFreshThreadsGetTheirOwnResults() throws Exception {
        Random r = new Random(11);
        int out = 2 * HalfMatmul.CHUNK + 5;
        int in = 600;
        short[] w = randomHalves(r, out * in);
        ByteBuffer wb = halves(w);
        int[] rowCounts = {1, 3, 17, 1, 5, 21};
        float[][] xs = new float[rowCounts.length][];
        float[][] want = new float[rowCounts.length][];
        for (int i = 0; i < rowCounts.length; i++) {
            xs[i] = new float[rowCounts[i] * in];
            for (int j = 0; j < xs[i].length; j++) {
                xs[i][j] = (float) r.nextGaussian();
            }
            want[i] = HalfMatmul.multiply(wb, out, in, xs[i], rowCounts[i]);
            assertMatches(w, out, in, xs[i], rowCounts[i], want[i], rowCounts[i] + " rows");
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(rowCounts.length);
        try {
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            java.util.List<java.util.concurrent.Future<float[]>> got = new java.util.ArrayList<>();
            for (int i = 0; i < rowCounts.length; i++) {
                int k = i;
                got.add(pool.submit(() -> {
                    go.await();
                    float[] y = null;
                    for (int rep = 0; rep < 20; rep++) {
                        y = HalfMatmul.multiply(wb, out, in, xs[k], rowCounts[k]);
                    }
                    return y;
                }));
            }
            go.countDown();
            for (int i = 0; i < rowCounts.length; i++) {
                assertArrayEquals(want[i], got.get(i).get(60, java.util.concurrent.TimeUnit.SECONDS), "caller " + i + ", " + rowCounts[i] + " rows");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void widensSpecialHalvesExactly() {
        short[] special = {0x0000, (short) 0x8000, 0x0001, (short) 0x8001, 0x03ff, (short) 0x83ff, 0x0400, (short) 0x8400, 0x3c00,
            (short) 0xbc00, 0x7bff, (short) 0xfbff, 0x3555, (short) 0xc000, 0x0200, 0x1234, (short) 0x9234, 0x7800, 0x0010};
        int out = 5;
        int in = special.length;
        short[] w = new short[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = special[(i * 7) % in];
        }
        ByteBuffer wb = halves(w);
        // one-hot rows of x pick single weights: y[m][n] = W[n][m] exactly, for one row and for several
        for (int rows : new int[] {1, in}) {
            float[] x = new float[rows * in];
            for (int m = 0; m < rows; m++) {
                x[m * in + m] = 1f;
            }
            float[] y = HalfMatmul.multiply(wb, out, in, x, rows);
            for (int m = 0; m < rows; m++) {
                for (int n = 0; n < out; n++) {
                    float want = Half.toFloat(w[n * in + m]);
                    assertEquals(want, y[m * out + n], 0f, String.format("half 0x%04x with %d row(s)", w[n * in + m] & 0xffff, rows));
                }
            }
        }
        // and a signed sum, in the same rounding as a float32 dot product
        float[] ones = new float[in];
        java.util.Arrays.fill(ones, 1f);
        float[] y = HalfMatmul.multiply(wb, out, in, ones, 1);
        assertMatches(w, out, in, ones, 1, y, "sum of special halves");
    }

    @Test
    void rejectsMismatchedSizesBeforeTouchingMemory() {
        ByteBuffer wb = halves(new short[12]);
        assertThrows(IllegalArgumentException.class, () -> HalfMatmul.multiply(wb, 4, 4, new float[4], 1), "view smaller than out x in");
        assertThrows(IllegalArgumentException.class, () -> HalfMatmul.multiply(wb, 3, 4, new float[5], 1), "x not rows x in");
        assertThrows(IllegalArgumentException.class, () -> HalfMatmul.multiply(wb, 3, 4, new float[0], 0), "no rows");
        ByteBuffer heap = ByteBuffer.allocate(24);
        assertThrows(IllegalArgumentException.class, () -> HalfMatmul.multiply(heap, 3, 4, new float[4], 1), "not a direct view");
    }

    private static NDArray halfWeight(NDManager m, Random r, int out, int in) {
        float[] v = new float[out * in];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextGaussian() * 0.05);
        }
        try (NDArray f = m.create(v, new Shape(out, in))) {
            return f.toType(DataType.FLOAT16, true);
        }
    }

    @Test
    void linearLayerMatchesFloat32OfTheSameHalvesWithBias() {
        Random r = new Random(3);
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray w = halfWeight(m, r, 88, 33);
            NDArray bias = m.randomNormal(new Shape(88));
            LinearLayer layer = LinearLayer.of(w, bias);
            for (long[] shape : new long[][] {{1, 1, 33}, {1, 3, 33}, {1, 5, 33}, {17, 33}, {1, LinearLayer.HALF_KERNEL_ROWS, 33}}) {
                NDArray x = m.randomNormal(new Shape(shape));
                float[] want = Linear.linear(x, w.toType(DataType.FLOAT32, false), bias).singletonOrThrow().toFloatArray();
                for (boolean exact : new boolean[] {false, true}) {
                    if (x.getShape().size() == 33 && !exact && !LinearLayer.HALF_KERNEL_ONE_ROW) {
                        continue; // one decode row stays on libtorch's float16 mat-vec (x rounded to half)
                    }
                    NDArray y = layer.forward(x, exact);
                    assertEquals(DataType.FLOAT32, y.getDataType());
                    long[] outShape = shape.clone();
                    outShape[outShape.length - 1] = 88;
                    assertEquals(new Shape(outShape), y.getShape());
                    float[] got = y.toFloatArray();
                    for (int i = 0; i < want.length; i++) {
                        assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])), "y[" + i + "] for x " + new Shape(shape) + ", exact=" + exact);
                    }
                }
            }
        }
    }

    @Test
    void readsTheWeightInPlaceWithoutACopy() {
        Random r = new Random(5);
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray w = halfWeight(m, r, 20, 40);
            LinearLayer layer = LinearLayer.of(w, null);
            NDArray x = m.randomNormal(new Shape(3, 40));
            float[] before = layer.forward(x).toFloatArray();
            w.muli(2); // libtorch changes its own storage; a copy taken at construction would not see it
            float[] after = layer.forward(x).toFloatArray();
            for (int i = 0; i < before.length; i++) {
                assertEquals(2 * before[i], after[i], 1e-6 * Math.max(1, Math.abs(after[i])), "y[" + i + "] after W *= 2");
            }
        }
    }

    @Test
    void aClosedWeightFailsInJavaNotInNativeMemory() {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray w = halfWeight(m, new Random(1), 8, 16);
            LinearLayer layer = LinearLayer.of(w, null);
            NDArray x = m.randomNormal(new Shape(4, 16)); // rows within the kernel's range
            w.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> layer.forward(x));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void theKernelSwitchChangesNothingButThePath() {
        Random r = new Random(11);
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            NDArray w = halfWeight(m, r, 50, 24);
            LinearLayer layer = LinearLayer.of(w, null);
            NDArray x = m.randomNormal(new Shape(1, 6, 24));
            float[] java = layer.forward(x, true).toFloatArray();
            LinearLayer.setHalfKernelEnabled(false);
            try {
                float[] torch = layer.forward(x, true).toFloatArray();
                assertEquals(torch.length, java.length);
                for (int i = 0; i < torch.length; i++) {
                    assertEquals(torch[i], java[i], 1e-5 * Math.max(1, Math.abs(torch[i])), "y[" + i + "]");
                }
            } finally {
                LinearLayer.setHalfKernelEnabled(true);
            }
            assertArrayEquals(java, layer.forward(x, true).toFloatArray(), "the same path twice gives the same bits");
        }
    }

    @Test
    void statusNamesTheKernelAndWarnsOnlyWhenTheJitUnrollsTooFar() {
        String status = LinearLayer.halfKernelStatus();
        assertTrue(status.startsWith("Java Vector API kernel"), status);
        assertEquals(JitOptions.loopUnrollLimit() > 50, status.contains("LoopUnrollLimit="), status);
        assertEquals(40, JitOptions.loopUnrollLimit(), "the tests run as the launchers start the app");
    }
}
