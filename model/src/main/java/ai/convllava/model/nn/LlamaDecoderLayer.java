package ai.convllava.model.nn;

import ai.convllava.model.config.LlamaConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import java.util.List;

/** {@code LlamaDecoderLayer}: x + attn(input_layernorm(x)), then h + mlp(post_attention_layernorm(h)). */
public final class LlamaDecoderLayer {
    private final LlamaRMSNorm inputLayernorm;
    private final LlamaAttention selfAttn;
    private final LlamaRMSNorm postAttentionLayernorm;
    private final LlamaMLP mlp;

    public LlamaDecoderLayer(Weights w, String prefix, LlamaConfig c, int layer) {
        this.inputLayernorm = new LlamaRMSNorm(w, prefix + "input_layernorm.weight", c.hiddenSize(), c.rmsNormEps());
        this.selfAttn = new LlamaAttention(w, prefix + "self_attn.", c, layer);
        this.postAttentionLayernorm = new LlamaRMSNorm(w, prefix + "post_attention_layernorm.weight", c.hiddenSize(), c.rmsNormEps());
        this.mlp = new LlamaMLP(w, prefix + "mlp.", c);
    }

    public static List<String> keys(String prefix) {
        return List.of(prefix + "input_layernorm.weight", prefix + "self_attn.q_proj.weight", prefix + "self_attn.k_proj.weight",
                prefix + "self_attn.v_proj.weight", prefix + "self_attn.o_proj.weight", prefix + "post_attention_layernorm.weight",
                prefix + "mlp.gate_proj.weight", prefix + "mlp.up_proj.weight", prefix + "mlp.down_proj.weight");
    }

    /** (1, T, hidden) -> (1, T, hidden); temporaries die with the layer's scope. */
    public NDArray forward(NDArray x, int start, LlamaRotaryEmbedding rope, KvCache cache, NDArray mask, ImageAttentionProbe probe) {
        try (NDScope scope = new NDScope()) {
            NDArray h = x.add(selfAttn.forward(inputLayernorm.forward(x), start, rope, cache, mask, probe));
            NDArray out = h.add(mlp.forward(postAttentionLayernorm.forward(h)));
            NDScope.unregister(out);
            return out;
        }
    }

    /** Whether {@link #forwardToken} can run: every linear multiplies on Java arrays. */
    boolean matvecOnHeap() {
        return selfAttn.matvecOnHeap() && mlp.matvecOnHeap();
    }

    /** One token's hidden state {@code h} (hidden) at {@code position} through the layer, in place, on Java arrays ({@link LlamaModel#forwardToken}). */
    void forwardToken(float[] h, int position, LlamaRotaryEmbedding rope, KvCache cache, ImageAttentionProbe probe, NDManager manager) {
        float[] normed = new float[h.length];
        inputLayernorm.forward(h, normed);
        float[] a = selfAttn.forwardToken(normed, position, rope, cache, probe, manager);
        for (int i = 0; i < h.length; i++) {
            h[i] += a[i];
        }
        postAttentionLayernorm.forward(h, normed);
        float[] m = mlp.forwardToken(normed);
        for (int i = 0; i < h.length; i++) {
            h[i] += m[i];
        }
    }
}
