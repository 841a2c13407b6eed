package ai.convllava.model.nn;

import ai.convllava.model.api.WeightFormat;

import ai.convllava.model.Goldens;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ConvNextLayer runs its pointwise half over bands of image rows to bound the hidden activations
 * (453 MB at once at 1536's first stage otherwise): bands of any height must give the result of
 * the whole image, with float32 and float16-stored weights, and free what they allocate.
 */
class ConvNextBandsTest {
    @Test
    void bandsOfRowsGiveTheWholeImageResult() {
        String prefix = "encoder.stages.0.layers.0.";
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(Goldens.TINY.resolve("tiny-convllava-convnext"));
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            int channels = (int) ckpt.info(prefix + "dwconv.weight").shape()[0];
            for (WeightFormat format : WeightFormat.values()) {
                Weights w = new Weights(ckpt, m, format, "tower", List.of(), LoadListener.NONE, () -> false);
                ConvNextLayer layer = new ConvNextLayer(w, prefix, channels, ckpt.contains(prefix + "layer_scale_parameter"));
                NDArray x = m.randomNormal(new Shape(1, 11, 7, channels)); // (1, H, W, C), H not a multiple of the band height
                NDArray whole = layer.forward(x, Long.MAX_VALUE);
                long rowBytes = 7L * 4 * channels * Float.BYTES; // one image row of hidden activations
                for (long bandRows : new long[] {1, 2, 3, 10}) {
                    long before = m.getManagedArrays().size();
                    NDArray banded = layer.forward(x, bandRows * rowBytes);
                    assertEquals(before + 1, m.getManagedArrays().size(), "only the output outlives the call");
                    assertEquals(whole.getShape(), banded.getShape());
                    float worst = whole.sub(banded).abs().max().getFloat();
                    assertTrue(worst <= 1e-5f, format + " bands of " + bandRows + " rows: max difference " + worst);
                    banded.close();
                }
            }
        }
    }
}
