package ai.convllava.model.nn;

import ai.convllava.model.config.LlamaConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** {@code LlamaForCausalLM}: the model plus {@code lm_head}, evaluated for the last position only. */
public final class LlamaForCausalLM {
    private final LlamaConfig config;
    private final LlamaModel model;
    private final LinearLayer lmHead;
    private final NDManager manager;
    private final DataType cacheType;

    /** @param streamEmbeddings read embedding rows from the checkpoint when used ({@link TokenEmbedding}) */
    public LlamaForCausalLM(Weights w, LlamaConfig c, NDManager manager, int layerLimit, DataType cacheType, boolean streamEmbeddings) {
        this.config = c;
        this.manager = manager;
        this.cacheType = cacheType;
        this.model = new LlamaModel(w, c, manager, layerLimit, streamEmbeddings);
        String head = c.tieWordEmbeddings() && !w.contains("lm_head.weight") ? LlamaModel.PREFIX + "embed_tokens.weight" : "lm_head.weight";
        this.lmHead = LinearLayer.load(w, head, null, c.vocabSize(), c.hiddenSize());
    }

    public static List<String> keys(LlamaConfig c, int layerLimit) {
        List<String> k = new ArrayList<>(LlamaModel.keys(c, layerLimit));
        k.add("lm_head.weight");
        return k;
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaModel model() {
        return model;
    }

    public KvCache newCache(int initialCapacity) {
        return new KvCache(manager, model.numLayers(), config.numKeyValueHeads(), config.headDim(), initialCapacity,
                config.maxPositionEmbeddings(), cacheType);
    }

    /**
     * Runs new positions (1, T, hidden) and returns the next-token logits (vocab) after the last one, float32,
     * on the device and outside any scope: the caller closes them (the device path samples there).
     */
    public NDArray forwardOnDevice(NDArray embeds, KvCache cache, ImageAttentionProbe probe, BooleanSupplier cancelled) {
        try (NDScope scope = new NDScope()) {
            boolean prefill = embeds.getShape().get(1) > 1;
            NDArray last = model.forward(embeds, cache, probe, cancelled);
            NDArray logits = lmHead.forward(last, prefill).toType(DataType.FLOAT32, false).reshape(-1); // (1, vocab) -> (vocab)
            NDScope.unregister(logits);
            return logits;
        }
    }

    /**
     * Runs new positions (1, T, hidden) and returns the next-token logits after the last one. One position with quantized
     * weights on the CPU runs on Java arrays ({@link LlamaModel#forwardToken}).
     */
    public float[] forward(NDArray embeds, KvCache cache, ImageAttentionProbe probe, BooleanSupplier cancelled) {
        try (NDScope scope = new NDScope()) {
            boolean prefill = embeds.getShape().get(1) > 1;
            if (!prefill && lmHead.matvecOnHeap() && model.runsTokenStep(cache)) {
                float[] last = model.forwardToken(embeds.toType(DataType.FLOAT32, false).toFloatArray(), cache, probe, cancelled);
                float[] logits = new float[(int) lmHead.outFeatures()];
                lmHead.matvec(last, logits);
                return logits;
            }
            NDArray last = model.forward(embeds, cache, probe, cancelled);
            return lmHead.forward(last, prefill).toType(DataType.FLOAT32, false).toFloatArray();
        }
    }
}
