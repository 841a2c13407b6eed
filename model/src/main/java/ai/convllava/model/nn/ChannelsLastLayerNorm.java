package ai.convllava.model.nn;

import ai.convllava.model.config.ConvNextConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;

/**
 * transformers' {@code ConvNextLayerNorm}. Our activations are NHWC, so both its
 * "channels_first" and "channels_last" forms are a LayerNorm over the last axis (eps 1e-6).
 */
final class ChannelsLastLayerNorm {
    private final NDArray weight;
    private final NDArray bias;
    private final Shape normalized;

    ChannelsLastLayerNorm(Weights w, String prefix, int channels) {
        this.weight = w.f32(prefix + ".weight", channels);
        this.bias = w.f32(prefix + ".bias", channels);
        this.normalized = new Shape(channels);
    }

    NDArray forward(NDArray nhwc) {
        return LayerNorm.layerNorm(nhwc, normalized, weight, bias, (float) ConvNextConfig.LAYER_NORM_EPS).singletonOrThrow();
    }
}
