package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv2d;

/**
 * The ConvNeXt block (transformers' {@code ConvNextLayer}, the paper's "Block"):
 * depthwise 7x7 conv, LayerNorm, Linear C->4C, GELU (erf), Linear 4C->C, layer scale, residual.
 * Activations stay NHWC-contiguous; the convolution sees them through an NCHW view (channels-last
 * strides), which measured faster than NCHW-contiguous activations (docs/bench/README.md).
 */
public final class ConvNextLayer {
    private static final Shape ONE = new Shape(1, 1);
    private static final Shape PAD3 = new Shape(3, 3);
    /** Hidden (4C-wide) activations per band: 32 MB, where glibc's malloc would start page-faulting. */
    public static final long MAX_HIDDEN_BYTES = 32L << 20;

    private final int channels;
    private final NDArray dwWeight;
    private final NDArray dwBias;
    private final ChannelsLastLayerNorm layernorm;
    private final LinearLayer pwconv1;
    private final LinearLayer pwconv2;
    private final NDArray layerScale;
    private final ComputePath path;

    public ConvNextLayer(Weights w, String prefix, int channels, boolean layerScale) {
        this.channels = channels;
        this.path = w.computePath();
        this.dwWeight = w.math(prefix + "dwconv.weight", channels, 1, 7, 7);
        this.dwBias = w.math(prefix + "dwconv.bias", channels);
        this.layernorm = new ChannelsLastLayerNorm(w, prefix + "layernorm", channels);
        // in the load's linear format: float16 halves the tower's 2.7 GB at 1536 and is exact for the
        // published bf16 weights (same exponent range as used here, fewer mantissa bits than f16)
        this.pwconv1 = LinearLayer.load(w, prefix + "pwconv1", 4L * channels, channels, true);
        this.pwconv2 = LinearLayer.load(w, prefix + "pwconv2", channels, 4L * channels, true);
        this.layerScale = layerScale ? w.f32(prefix + "layer_scale_parameter", channels) : null;
    }

    /** {@link #forward(NDArray, long)} with the bands' usual bound. */
    public NDArray forward(NDArray x) {
        return forward(x, MAX_HIDDEN_BYTES);
    }

    /**
     * (1, H, W, C) -> (1, H, W, C) for a caller that gives up {@code x}. The pointwise part (LayerNorm, C->4C, GELU,
     * 4C->C, scale, residual) runs over bands of image rows so that the 4C-wide hidden activations stay under
     * {@code maxHiddenBytes}: at 1536 the first stage's (147456, 768) float32 hidden is 453 MB, twice (Linear out, GELU
     * out). Where there are several bands the output is written over {@code x}'s own rows and {@code x} is returned, so
     * the block holds one full-size map, not two (113 MB each at 1536's first stage, where the vision encode peaks).
     * Each band's depthwise convolution reads its rows and the 3 on either side as they were before the block: the
     * rows above are the ones the previous band overwrote, kept aside as they were (3 rows, or fewer at the top). A
     * map small enough for one band gets a new output, and the caller still owns {@code x}: compare before freeing.
     */
    NDArray forward(NDArray x, long maxHiddenBytes) {
        long[] s = x.getShape().getShape(); // (1, H, W, C)
        long height = s[1];
        long bandRows = Math.max(1, Math.min(height, maxHiddenBytes / (s[2] * 4L * channels * Float.BYTES)));
        if (bandRows >= height) {
            try (NDScope scope = new NDScope()) {
                NDArray out = x.add(pointwise(depthwise(x), pwconv1, pwconv2));
                NDScope.unregister(out);
                return out;
            }
        }
        // the CPU path upcasts once for all bands; the float16 device path multiplies in float16
        LinearLayer p1 = path.half() ? pwconv1 : pwconv1.float32();
        LinearLayer p2 = path.half() ? pwconv2 : pwconv2.float32();
        NDArray above = null; // rows [max(0, h0 - 3), h0) as they were before the block (1, <=3, W, C)
        try {
            for (long h0 = 0; h0 < height; h0 += bandRows) {
                long h1 = Math.min(height, h0 + bandRows);
                long bottom = Math.min(height, h1 + 3);
                try (NDScope band = new NDScope()) {
                    NDArray rest = x.get(new NDIndex(":, {}:{}", h0, bottom)); // rows [h0, bottom): not yet overwritten
                    NDArray input = above == null ? rest : above.concat(rest, 1); // (1, top..bottom, W, C)
                    long skip = above == null ? 0 : above.getShape().get(1);
                    NDArray mine = depthwise(input).get(new NDIndex(":, {}:{}", skip, skip + h1 - h0)); // the band's own rows, whole 7x7 windows
                    NDIndex rows = new NDIndex(":, {}:{}", h0, h1);
                    NDArray out = x.get(rows).add(pointwise(mine, p1, p2)); // (1, h1-h0, W, C)
                    NDArray next = null;
                    if (h1 < height) { // the next band's rows above, before they are overwritten
                        long keep = Math.min(3, skip + h1 - h0);
                        next = input.get(new NDIndex(":, {}:{}", skip + h1 - h0 - keep, skip + h1 - h0)).duplicate(); // (1, keep, W, C)
                        NDScope.unregister(next);
                    }
                    x.set(rows, out);
                    if (above != null) {
                        above.close();
                    }
                    above = next;
                }
            }
        } finally {
            if (above != null) {
                above.close();
            }
            p1.closeIfCopyOf(pwconv1);
            p2.closeIfCopyOf(pwconv2);
        }
        return x;
    }

    /** The depthwise 7x7 convolution of (1, h, W, C) rows (zero-padded at their top and bottom) -> (1, h, W, C). */
    private NDArray depthwise(NDArray rows) {
        NDArray nchw = rows.transpose(0, 3, 1, 2); // (1, h, W, C) -> (1, C, h, W) view
        return ComputePath.out(Conv2d.conv2d(path.in(nchw), dwWeight, dwBias, ONE, PAD3, ONE, channels).singletonOrThrow())
                .transpose(0, 2, 3, 1); // (1, C, h, W) channels-last storage -> (1, h, W, C)
    }

    /** (1, h, W, C) after the depthwise conv -> the block's residual branch (1, h, W, C). */
    private NDArray pointwise(NDArray conv, LinearLayer p1, LinearLayer p2) {
        NDArray y = layernorm.forward(conv);
        // the CPU path: exact, float32 math whatever the storage; the float16 device path: float16 products
        boolean exact = !path.half();
        y = p2.forward(Activation.gelu(p1.forward(y, exact)), exact);
        return layerScale == null ? y : y.mul(layerScale);
    }
}
