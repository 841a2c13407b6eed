package ai.convllava.model.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A LinearLayer's output belongs to the caller's NDScope whatever path computed it. The blocked
 * upcast path (float16 weights with more than 1024 output rows: every Vicuna-7B linear in a long
 * prefill) used to return an array registered in no scope, which nobody closed: at full size about
 * 3.4 GB stayed allocated per 600-token prefill until the model was closed.
 */
class LinearLayerScopeTest {
    @Test
    void everyPathsOutputIsFreedWithTheCallersScope() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray w16 = m.randomNormal(new Shape(LinearLayer.BLOCK_ROWS * 2 + 100, 64)).toType(DataType.FLOAT16, false);
            NDArray w32 = m.randomNormal(new Shape(300, 64));
            NDArray bias = m.randomNormal(new Shape(LinearLayer.BLOCK_ROWS * 2 + 100));
            LinearLayer blocked = LinearLayer.of(w16, bias);
            LinearLayer small = LinearLayer.of(w32, null);
            long live = m.getManagedArrays().size();
            for (int rows : new int[] {1, 5, 17, 64, 200}) {
                NDArray x = m.randomNormal(new Shape(1, rows, 64));
                for (LinearLayer layer : new LinearLayer[] {blocked, small}) {
                    for (boolean exact : new boolean[] {false, true}) {
                        try (NDScope scope = new NDScope()) {
                            NDArray y = layer.forward(x, exact);
                            assertEquals(rows * layer.outFeatures(), y.getShape().size());
                        }
                    }
                }
                x.close();
                assertEquals(live, m.getManagedArrays().size(), "after " + rows + " rows nothing outlives the caller's scope");
            }
        }
    }

    /**
     * The blocked path writes each block's product into its own columns of one result: every column of a
     * layer three blocks wide (the last one partial) equals float32 math over the float16-held weights,
     * bias included, for a prompt-sized input with a leading batch axis.
     */
    @Test
    void theBlockedPathPutsEveryBlockInItsColumns() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            int out = LinearLayer.BLOCK_ROWS * 2 + 100;
            NDArray w16 = m.randomNormal(new Shape(out, 64)).toType(DataType.FLOAT16, false);
            NDArray bias = m.randomNormal(new Shape(out));
            NDArray x = m.randomNormal(new Shape(1, 200, 64)); // more rows than the Java kernel takes
            float[] want = Linear.linear(x, w16.toType(DataType.FLOAT32, true), bias).singletonOrThrow().toFloatArray();
            NDArray y = LinearLayer.of(w16, bias).forward(x, true);
            assertEquals(new Shape(1, 200, out), y.getShape());
            float[] got = y.toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-5 * Math.max(1, Math.abs(want[i])), "row " + i / out + ", column " + i % out);
            }
        }
    }
}
