package ai.convllava.model.nn;

import ai.convllava.model.config.LlamaConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/** {@code LlamaModel}: {@code embed_tokens}, the decoder layers, the final {@code norm}. */
public final class LlamaModel {
    public static final String PREFIX = "model.";
    private final LlamaConfig config;
    private final TokenEmbedding embedTokens;
    private final List<LlamaDecoderLayer> layers = new ArrayList<>();
    private final LlamaRMSNorm norm;
    private final LlamaRotaryEmbedding rope;
    private final NDManager manager;
    /** Every layer's linears multiply on Java arrays (quantized weights on the CPU). */
    private final boolean layersOnHeap;
    /** {@code -Dconvllava.tokenStep=false}: generated tokens through libtorch's ops (A/B measurements, bug hunts). */
    private static volatile boolean tokenStepEnabled = !"false".equalsIgnoreCase(System.getProperty("convllava.tokenStep", ""));

    /** @param streamEmbeddings read embedding rows from the checkpoint when used instead of keeping the table ({@link TokenEmbedding}) */
    public LlamaModel(Weights w, LlamaConfig c, NDManager manager, int layerLimit, boolean streamEmbeddings) {
        this.config = c;
        String key = PREFIX + "embed_tokens.weight";
        this.embedTokens = streamEmbeddings ? TokenEmbedding.streamed(w, key, c.vocabSize(), c.hiddenSize())
                : TokenEmbedding.resident(w, key, c.vocabSize(), c.hiddenSize());
        int n = layerLimit > 0 ? Math.min(layerLimit, c.numHiddenLayers()) : c.numHiddenLayers();
        for (int i = 0; i < n; i++) {
            layers.add(new LlamaDecoderLayer(w, PREFIX + "layers." + i + ".", c, i));
        }
        this.norm = new LlamaRMSNorm(w, PREFIX + "norm.weight", c.hiddenSize(), c.rmsNormEps());
        this.rope = new LlamaRotaryEmbedding(manager, c.headDim(), c.ropeTheta(), c.maxPositionEmbeddings());
        this.manager = manager;
        this.layersOnHeap = layers.stream().allMatch(LlamaDecoderLayer::matvecOnHeap);
    }

    /**
     * Turns the one-token step on Java arrays ({@link #forwardToken}) on or off for every model (A/B comparisons in one JVM);
     * on by default. Off, a generated token goes through libtorch's ops like a prompt.
     */
    public static void setTokenStepEnabled(boolean enabled) {
        tokenStepEnabled = enabled;
    }

    /**
     * Whether a generated token runs {@link #forwardToken} with this cache: quantized weights on the CPU (every linear
     * multiplies Java arrays), an 8-bit cache whose memory libtorch hands out, and the native attention loaded.
     */
    public boolean runsTokenStep(KvCache cache) {
        return tokenStepEnabled && layersOnHeap && cache.int8InPlace();
    }

    /**
     * One new position's embedding (hidden) through every layer on Java arrays, appending its key and value to the 8-bit
     * cache in place; returns its final-normed hidden state (hidden). What {@link #forward} computes for T = 1, without
     * a tensor: each of a token's couple of hundred small libtorch ops (norms, RoPE, the cache's quantizing, activations, the
     * copies between tensors and the kernels' arrays) cost more than its arithmetic (docs/bench/quant.md, "The one-token step").
     * Only where {@link #runsTokenStep}.
     */
    public float[] forwardToken(float[] embed, KvCache cache, ImageAttentionProbe probe, BooleanSupplier cancelled) {
        if (embed.length != config.hiddenSize()) {
            throw new IllegalArgumentException("one-token step: an embedding of " + config.hiddenSize() + " values expected, got " + embed.length);
        }
        int position = cache.length();
        cache.reserve(1);
        float[] h = embed.clone();
        for (LlamaDecoderLayer layer : layers) {
            if (cancelled.getAsBoolean()) {
                cache.truncate(position);
                throw new CancellationException("cancelled");
            }
            layer.forwardToken(h, position, rope, cache, probe, manager);
        }
        cache.advance(1);
        float[] out = new float[h.length];
        norm.forward(h, out);
        return out;
    }

    public static List<String> keys(LlamaConfig c, int layerLimit) {
        List<String> k = new ArrayList<>();
        k.add(PREFIX + "embed_tokens.weight");
        int n = layerLimit > 0 ? Math.min(layerLimit, c.numHiddenLayers()) : c.numHiddenLayers();
        for (int i = 0; i < n; i++) {
            k.addAll(LlamaDecoderLayer.keys(PREFIX + "layers." + i + "."));
        }
        k.add(PREFIX + "norm.weight");
        return k;
    }

    public int numLayers() {
        return layers.size();
    }

    /** Token embeddings (1, T, hidden) in float32; ids must be within the vocabulary. */
    public NDArray embed(NDManager m, int[] ids) {
        return embedTokens.embed(m, ids);
    }

    public TokenEmbedding embedTokens() {
        return embedTokens;
    }

    /**
     * Runs the new positions (1, T, hidden) through every layer, appending their keys/values to the
     * cache. Returns the final-normed hidden state of the last position (1, hidden).
     */
    public NDArray forward(NDArray embeds, KvCache cache, ImageAttentionProbe probe, BooleanSupplier cancelled) {
        int t = (int) embeds.getShape().get(1);
        int start = cache.length();
        cache.reserve(t);
        NDArray mask = t > 1 ? causalMask(embeds.getManager(), t, start) : null;
        NDArray h = embeds;
        for (LlamaDecoderLayer layer : layers) {
            if (cancelled.getAsBoolean()) {
                cache.truncate(start);
                throw new CancellationException("cancelled");
            }
            NDArray next = layer.forward(h, start, rope, cache, mask, probe);
            if (h != embeds) {
                h.close();
            }
            h = next;
        }
        cache.advance(t);
        NDArray last = h.get(0).get(t - 1).reshape(1, config.hiddenSize()); // (1, T, hidden) -> (1, hidden)
        NDArray out = norm.forward(last);
        if (h != embeds) {
            h.close();
        }
        if (mask != null) {
            mask.close();
        }
        return out;
    }

    /** Additive mask (T, start + T): query i (position start + i) sees keys 0..start + i. */
    static NDArray causalMask(NDManager m, int t, int start) {
        int s = start + t;
        float[] mask = new float[t * s];
        for (int i = 0; i < t; i++) {
            for (int j = start + i + 1; j < s; j++) {
                mask[i * s + j] = Float.NEGATIVE_INFINITY;
            }
        }
        return m.create(mask, new Shape(t, s));
    }
}
