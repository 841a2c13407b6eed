package ai.convllava.model.nn;

import ai.convllava.model.api.WeightFormat;

import ai.convllava.model.Goldens;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.config.ConvNextConfig;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
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
                NDArray whole = layer.forward(x, Long.MAX_VALUE); // one band: a new output
                long rowBytes = 7L * 4 * channels * Float.BYTES; // one image row of hidden activations
                // in bands the output is written over the input: each band's depthwise convolution must still see the rows
                // above as they were before the previous band overwrote them, for bands of fewer rows than a 7x7 window
                // reaches (3) and more, and at the top and bottom edges
                for (long bandRows : new long[] {1, 2, 3, 4, 10}) {
                    NDArray input = x.duplicate();
                    long before = m.getManagedArrays().size();
                    NDArray out = layer.forward(input, bandRows * rowBytes);
                    assertSame(input, out, "bands of " + bandRows + " rows: the output is the input's storage");
                    assertEquals(before, m.getManagedArrays().size(), "nothing outlives the call");
                    float worst = whole.sub(out).abs().max().getFloat();
                    assertTrue(worst <= 1e-5f, format + " bands of " + bandRows + " rows in place: max difference " + worst);
                    out.close();
                }
                NDArray small = x.duplicate();
                NDArray unbanded = layer.forward(small, Long.MAX_VALUE); // one band: a new output, the input untouched
                assertNotSame(small, unbanded);
                assertEquals(0f, x.sub(small).abs().max().getFloat());
                assertEquals(0f, whole.sub(unbanded).abs().max().getFloat());
            }
        }
    }

    /** The stem over bands of output rows (patch convolution and norm) equals the whole image's. */
    @Test
    void theStemInBandsGivesTheWholeImagesResult() {
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(Goldens.TINY.resolve("tiny-convllava-convnext"));
             NDManager m = NDManager.newBaseManager(Device.cpu())) {
            ConvNextConfig c = ConvNextConfig.read(Goldens.TINY.resolve("tiny-convllava-convnext/config.json"));
            Weights w = new Weights(ckpt, m, WeightFormat.F32, "tower", List.of(), LoadListener.NONE, () -> false);
            ConvNextEmbeddings stem = new ConvNextEmbeddings(w, "embeddings.", c);
            int channels = c.hiddenSize(0);
            int p = c.patchSize();
            NDArray pixels = m.randomNormal(new Shape(1, c.numChannels(), 11L * p, 7L * p)).mul(3).add(1); // 11 x 7 patches
            NDArray whole = stem.forward(pixels, Long.MAX_VALUE);
            assertEquals(new Shape(1, 11, 7, channels), whole.getShape());
            long rowBytes = 7L * channels * Float.BYTES;
            for (long bandRows : new long[] {1, 2, 3, 10}) {
                long before = m.getManagedArrays().size();
                NDArray banded = stem.forward(pixels, bandRows * rowBytes);
                assertEquals(before + 1, m.getManagedArrays().size(), "only the output outlives the call");
                assertEquals(whole.getShape(), banded.getShape());
                float worst = whole.sub(banded).abs().max().getFloat();
                assertTrue(worst <= 1e-6f, "the stem in bands of " + bandRows + " rows: max difference " + worst);
                banded.close();
            }
        }
    }
}
