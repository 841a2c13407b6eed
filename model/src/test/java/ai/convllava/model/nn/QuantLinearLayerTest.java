package ai.convllava.model.nn;

import ai.convllava.model.quant.QuantFormat;
import ai.convllava.model.quant.QuantizedMatrix;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The three ways a quantized layer multiplies (the decode mat-vec for one row, the Java kernel for up to
 * {@link QuantLinearLayer#KERNEL_MAX_ROWS}, dequantized blocks through libtorch above) all give x W^T of
 * the dequantized W, with the bias; several blocks concatenate in order.
 */
class QuantLinearLayerTest {
    private static float[] gaussian(Random r, int n, double sd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * sd);
        }
        return v;
    }

    /** y = x W^T + b in double, W the dequantized weights. */
    private static float[] reference(float[] x, int rows, float[] w, int out, int in, float[] bias) {
        float[] y = new float[rows * out];
        for (int i = 0; i < rows; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int k = 0; k < in; k++) {
                    s += (double) x[i * in + k] * w[o * in + k];
                }
                y[i * out + o] = (float) s;
            }
        }
        return y;
    }

    private static void check(QuantFormat format, int out, int in, int blockFloats, boolean withBias) {
        Random r = new Random(out * 31L + in);
        QuantizedMatrix q = QuantizedMatrix.quantize(format, gaussian(r, out * in, 0.05), out, in);
        float[] w = new float[out * in];
        q.dequantizeRows(0, out, w, 0);
        float[] b = withBias ? gaussian(r, out, 1) : null;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            QuantLinearLayer layer = new QuantLinearLayer(q, b == null ? null : m.create(b), m, "test." + format, blockFloats);
            assertEquals(out, layer.outFeatures());
            assertEquals(in, layer.inFeatures());
            for (int rows : new int[] {1, 2, 5, QuantLinearLayer.KERNEL_MAX_ROWS, QuantLinearLayer.KERNEL_MAX_ROWS + 1, 203}) {
                float[] x = gaussian(r, rows * in, 1);
                // one row goes through the decode kernel, which on the native kernels multiplies x rounded to 8 bits
                float[] want = reference(rows == 1 ? q.decodeInput(x) : x, rows, w, out, in, b);
                try (NDArray xa = m.create(x, new Shape(1, rows, in)); NDArray y = layer.forward(xa, false)) { // (1, rows, in) -> (1, rows, out)
                    assertEquals(new Shape(1, rows, out), y.getShape(), format + " rows " + rows);
                    float[] got = y.toFloatArray();
                    double scale = 0;
                    for (float v : want) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(want[i], got[i], 1e-4 * scale, format + " " + out + "x" + in + " rows " + rows + " value " + i);
                    }
                }
            }
        }
    }

    @Test
    void q8MatchesTheDequantizedWeightsOnEveryPath() {
        check(QuantFormat.Q8_0, 96, 256, QuantLinearLayer.BLOCK_FLOATS, true);
    }

    @Test
    void q4kMatchesTheDequantizedWeightsOnEveryPath() {
        check(QuantFormat.Q4_K, 72, 512, QuantLinearLayer.BLOCK_FLOATS, false);
    }

    @Test
    void severalBlocksAndALastShortOneGiveTheSameAsOne() {
        // 70 rows of 256 in blocks of 16 rows: four full blocks and one of 6, concatenated in order
        check(QuantFormat.Q8_0, 70, 256, 16 * 256, true);
        // the shared buffer again, for a layer of another width
        check(QuantFormat.Q4_K, 40, 1024, 16 * 1024, true);
    }
}
