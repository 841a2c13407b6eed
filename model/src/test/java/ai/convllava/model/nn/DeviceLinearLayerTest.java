package ai.convllava.model.nn;

import ai.convllava.model.Goldens;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device path picks libtorch layers only, whatever the weight format asked for, and its float16 layer
 * computes an exact forward (the prefill's logits) in float32, block by block for a head wider than one
 * block (the tiny model's lm_head: 32000 rows).
 */
class DeviceLinearLayerTest {
    private static final Path TINY = Goldens.TINY.resolve("tiny-convllava");
    private static final String Q = LlamaModel.PREFIX + "layers.0.self_attn.q_proj.weight";
    private static final String HEAD = "lm_head.weight";

    @Test
    void theDevicePathNeverUsesTheJavaKernels() {
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(TINY); NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (WeightFormat f : WeightFormat.values()) {
                Weights cpu = new Weights(ckpt, m, f, "test", List.of(Q), LoadListener.NONE, () -> false);
                Weights device = new Weights(ckpt, m, f, "test", List.of(Q), LoadListener.NONE, () -> false)
                        .withComputePath(ComputePath.device(f == WeightFormat.F32 ? DataType.FLOAT32 : DataType.FLOAT16));
                LinearLayer onCpu = LinearLayer.load(cpu, Q, null, 32, 32);
                LinearLayer onDevice = LinearLayer.load(device, Q, null, 32, 32);
                // the CPU path's Java kernels for float16 and the quantized formats (32 columns: whole Q8_0 blocks)
                Class<?> cpuKind = switch (f) {
                    case F32 -> F32LinearLayer.class;
                    case F16 -> HalfLinearLayer.class;
                    case Q8_0 -> QuantLinearLayer.class;
                    case Q4_K -> HalfLinearLayer.class; // 32 columns are not a whole 256-block: float16
                };
                assertInstanceOf(cpuKind, onCpu, f + " on the CPU path");
                Class<?> deviceKind = f == WeightFormat.F32 ? F32LinearLayer.class : HalfDeviceLinearLayer.class;
                assertInstanceOf(deviceKind, onDevice, f + " on the device path");
            }
        }
    }

    @Test
    void anExactFloat16ForwardIsFloat32MathBlockByBlock() {
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(TINY); NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Weights w = new Weights(ckpt, m, WeightFormat.F16, "test", List.of(HEAD), LoadListener.NONE, () -> false)
                    .withComputePath(ComputePath.device(DataType.FLOAT16));
            LinearLayer head = LinearLayer.load(w, HEAD, null, 32000, 32);
            assertTrue(head.outFeatures() > HalfDeviceLinearLayer.EXACT_BLOCK_ROWS, "the head spans several blocks");
            NDArray x = m.randomNormal(new Shape(1, 32)).mul(3);
            NDArray weight32 = w.linear(HEAD, 32000, 32).toType(DataType.FLOAT32, true);
            float[] want = Linear.linear(x, weight32).singletonOrThrow().toFloatArray();
            float[] exact = head.forward(x, true).toFloatArray();
            float[] half = head.forward(x, false).toFloatArray();
            assertEquals(want.length, exact.length);
            double worstExact = 0;
            double worstHalf = 0;
            for (int i = 0; i < want.length; i++) {
                worstExact = Math.max(worstExact, Math.abs(want[i] - exact[i]));
                worstHalf = Math.max(worstHalf, Math.abs(want[i] - half[i]));
            }
            assertEquals(0, worstExact, 1e-5, "exact: float32 math over float16-held weights");
            // x rounded to float16 and the product's sums in float16 precision: measurably off, so the test
            // tells the two modes apart
            assertTrue(worstHalf > 1e-5, "the non-exact forward multiplies in float16 (max error " + worstHalf + ")");
        }
    }
}
