package ai.convllava.model.nn;

import ai.convllava.model.config.ConvNextConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
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
        return forward(pixelValues, ConvNextLayer.MAX_HIDDEN_BYTES);
    }

    /**
     * The stem over bands of output rows where the map is bigger than {@code maxBandBytes}: a 4x4 patch with stride 4
     * reads only its own 4 rows of pixels, so each band's convolution takes its rows of pixels alone, and its norm is
     * written into the one output map. The whole map's convolution was a second full-size map beside the output (113 MB
     * at 1536) at the encode's start, as big as its first stage's blocks hold. The norm makes a contiguous copy of the
     * channels-first rows it is given, so per band that copy stays under {@code maxBandBytes} too.
     */
    NDArray forward(NDArray pixelValues, long maxBandBytes) {
        long[] ps = pixelValues.getShape().getShape(); // (1, 3, H, W)
        long p = stride.get(0);
        long h = ps[2] / p;
        long w = ps[3] / p;
        long c0 = patchWeight.getShape().get(0);
        long bandRows = Math.max(1, Math.min(h, maxBandBytes / (w * c0 * Float.BYTES)));
        if (bandRows >= h) {
            return forwardWhole(pixelValues);
        }
        NDArray out = pixelValues.getManager().create(new Shape(1, h, w, c0), DataType.FLOAT32);
        try {
            for (long h0 = 0; h0 < h; h0 += bandRows) {
                long h1 = Math.min(h, h0 + bandRows);
                try (NDScope band = new NDScope()) {
                    out.set(new NDIndex(":, {}:{}", h0, h1), patches(pixelValues.get(new NDIndex(":, :, {}:{}", h0 * p, h1 * p)))); // (1, 3, (h1-h0)*4, W)
                }
            }
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
        return out;
    }

    private NDArray forwardWhole(NDArray pixelValues) {
        try (NDScope scope = new NDScope()) { // the convolution's map (and its float16 form on the device path) goes at once
            NDArray out = patches(pixelValues);
            NDScope.unregister(out);
            return out;
        }
    }

    /** Rows of pixels (1, 3, 4h, W) -> their patches, normed (1, h, W/4, C0); the temporaries in the caller's scope. */
    private NDArray patches(NDArray pixels) {
        NDArray x = ComputePath.out(Conv2d.conv2d(path.in(pixels), patchWeight, patchBias, stride).singletonOrThrow()); // (1, C0, h, w)
        return layernorm.forward(x.transpose(0, 2, 3, 1)); // (1, C0, h, w) -> (1, h, w, C0)
    }
}
