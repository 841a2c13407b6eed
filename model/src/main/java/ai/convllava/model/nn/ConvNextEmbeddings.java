package ai.convllava.model.nn;

import ai.convllava.model.config.ConvNextConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;

/** The stem: {@code patch_embeddings} (conv 4x4 stride 4) then a channels-first LayerNorm. */
public final class ConvNextEmbeddings {
    private final NDArray patchWeight;
    private final NDArray patchBias;
    private final ChannelsLastLayerNorm layernorm;
    private final Shape stride;
    private final ComputePath path;

    public ConvNextEmbeddings(Weights w, String prefix, ConvNextConfig c) {
        int p = c.patchSize();
        int c0 = c.hiddenSize(0);
        this.path = w.computePath();
        this.patchWeight = w.math(prefix + "patch_embeddings.weight", c0, c.numChannels(), p, p);
        this.patchBias = w.math(prefix + "patch_embeddings.bias", c0);
        this.layernorm = new ChannelsLastLayerNorm(w, prefix + "layernorm", c0);
        this.stride = new Shape(p, p);
    }

    /** pixel_values (1, 3, H, W) -> (1, H/4, W/4, C0), NHWC contiguous. */
    public NDArray forward(NDArray pixelValues) {
        NDArray conv = Conv2d.conv2d(path.in(pixelValues), patchWeight, patchBias, stride).singletonOrThrow(); // (1, C0, H/4, W/4)
        NDArray x = ComputePath.out(conv);
        if (x != conv) {
            conv.close(); // the float16 map, once widened
        }
        NDArray nhwc = x.transpose(0, 2, 3, 1); // (1, C0, h, w) -> (1, h, w, C0) view
        NDArray out = layernorm.forward(nhwc);
        nhwc.close(); // both handles, so the storage (113 MB at 1536) goes now, not when the encode ends
        x.close();
        return out;
    }
}
