package ai.convllava.bench;

import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.config.LlamaConfig;
import ai.convllava.model.config.LlavaConfig;
import ai.convllava.model.config.StandardModels;
import ai.convllava.model.config.VisionTower;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shape of a ConvLLaVA model without its weights: the LLaMA config, the ConvNeXt tower with its
 * canvas, and every checkpoint key with its shape, in the order a real sft checkpoint lists them
 * (encoder embedded as {@code model.vision_tower.vision_tower.*}, then projector, then the LLM).
 *
 * <p>The published sizes ({@link #convLlava}) share one encoder (ConvNeXt-L depths 3,3,27,3 plus a
 * fifth stage of 6 blocks, widths 192..3072) and Vicuna-7B; they differ only in the canvas.
 *
 * @param llmLayers decoder layers whose keys exist (the config keeps its own num_hidden_layers)
 */
public record SyntheticModel(String name, LlavaConfig config, ConvNextConfig tower, int llmLayers) {

    public static final int[] CONVNEXT_L_WIDTHS = StandardModels.CONVNEXT_L_WIDTHS;
    public static final int[] CONVNEXT_L_DEPTHS = StandardModels.CONVNEXT_L_DEPTHS;

    public SyntheticModel {
        if (llmLayers < 1 || llmLayers > config.llm().numHiddenLayers()) {
            throw new IllegalArgumentException("layers must be in [1, " + config.llm().numHiddenLayers() + "] (got " + llmLayers + ")");
        }
        if (tower.outputSize() != config.mmHiddenSize()) {
            throw new IllegalArgumentException("tower width " + tower.outputSize() + " != mm_hidden_size " + config.mmHiddenSize());
        }
    }

    /** Vicuna-7B v1.5 as ConvLLaVA ships it. */
    public static LlamaConfig vicuna7b() {
        return StandardModels.vicuna7b();
    }

    /** ConvLLaVA-sft-768 / -1024 / -1536 at full scale. */
    public static SyntheticModel convLlava(int canvas) {
        return of("ConvLLaVA-" + canvas, vicuna7b(), StandardModels.tower(canvas));
    }

    /** Any LLaMA + ConvNeXt pair (tests use tiny ones); all layers have keys. */
    public static SyntheticModel of(String name, LlamaConfig llm, ConvNextConfig tower) {
        LlavaConfig cfg = new LlavaConfig(llm, "ConvLLaVA/ConvLLaVA-ConvNeXt-" + tower.imageSize(), "mlp2x_gelu", tower.outputSize(), "pad",
                Path.of("synthetic-" + name, "config.json"));
        return new SyntheticModel(name, cfg, tower, llm.numHiddenLayers());
    }

    /** This model with only the first {@code n} decoder layers in its key set (for a truncated checkpoint on disk). */
    public SyntheticModel withLlmLayers(int n) {
        return new SyntheticModel(name, config, tower, n);
    }

    /**
     * The same LLM behind a tiny 5-stage tower (width 4, one block per stage) of the same canvas and
     * stride, so its images give the same number of visual tokens: used to measure the per-layer cost
     * of the LLM by difference.
     */
    public SyntheticModel withTinyTower() {
        int[] w = new int[tower.numStages()];
        int[] d = new int[tower.numStages()];
        Arrays.fill(w, 4);
        Arrays.fill(d, 1);
        ConvNextConfig tiny = new ConvNextConfig(3, tower.patchSize(), w, d, true, tower.imageSize());
        return of(name + "-tiny-tower", config.llm(), tiny).withLlmLayers(llmLayers);
    }

    public int canvas() {
        return tower.imageSize();
    }

    /** Visual tokens of a square canvas: (canvas / 64)^2. */
    public int imageTokens() {
        int side = tower.imageSize() / tower.stride();
        return side * side;
    }

    /** Every checkpoint key and its shape, in checkpoint order. */
    public Map<String, long[]> shapes() {
        Map<String, long[]> m = new LinkedHashMap<>();
        String p = VisionTower.EMBEDDED_PREFIX;
        int c0 = tower.hiddenSize(0);
        int patch = tower.patchSize();
        m.put(p + "embeddings.patch_embeddings.weight", new long[] {c0, tower.numChannels(), patch, patch});
        m.put(p + "embeddings.patch_embeddings.bias", new long[] {c0});
        m.put(p + "embeddings.layernorm.weight", new long[] {c0});
        m.put(p + "embeddings.layernorm.bias", new long[] {c0});
        for (int s = 0; s < tower.numStages(); s++) {
            String sp = p + "encoder.stages." + s + ".";
            int c = tower.hiddenSize(s);
            if (s > 0) {
                int in = tower.hiddenSize(s - 1);
                m.put(sp + "downsampling_layer.0.weight", new long[] {in});
                m.put(sp + "downsampling_layer.0.bias", new long[] {in});
                m.put(sp + "downsampling_layer.1.weight", new long[] {c, in, 2, 2});
                m.put(sp + "downsampling_layer.1.bias", new long[] {c});
            }
            for (int i = 0; i < tower.depth(s); i++) {
                String lp = sp + "layers." + i + ".";
                m.put(lp + "dwconv.weight", new long[] {c, 1, 7, 7});
                m.put(lp + "dwconv.bias", new long[] {c});
                m.put(lp + "layernorm.weight", new long[] {c});
                m.put(lp + "layernorm.bias", new long[] {c});
                m.put(lp + "pwconv1.weight", new long[] {4L * c, c});
                m.put(lp + "pwconv1.bias", new long[] {4L * c});
                m.put(lp + "pwconv2.weight", new long[] {c, 4L * c});
                m.put(lp + "pwconv2.bias", new long[] {c});
                if (tower.layerScale()) {
                    m.put(lp + "layer_scale_parameter", new long[] {c});
                }
            }
        }
        // the final norm is in every checkpoint; ConvLLaVA does not use it
        m.put(p + "layernorm.weight", new long[] {tower.outputSize()});
        m.put(p + "layernorm.bias", new long[] {tower.outputSize()});

        LlamaConfig c = config.llm();
        long h = c.hiddenSize();
        m.put("model.mm_projector.0.weight", new long[] {h, tower.outputSize()});
        m.put("model.mm_projector.0.bias", new long[] {h});
        m.put("model.mm_projector.2.weight", new long[] {h, h});
        m.put("model.mm_projector.2.bias", new long[] {h});
        m.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        for (int i = 0; i < llmLayers; i++) {
            String lp = "model.layers." + i + ".";
            m.put(lp + "input_layernorm.weight", new long[] {h});
            m.put(lp + "self_attn.q_proj.weight", new long[] {q, h});
            m.put(lp + "self_attn.k_proj.weight", new long[] {kv, h});
            m.put(lp + "self_attn.v_proj.weight", new long[] {kv, h});
            m.put(lp + "self_attn.o_proj.weight", new long[] {h, q});
            m.put(lp + "post_attention_layernorm.weight", new long[] {h});
            m.put(lp + "mlp.gate_proj.weight", new long[] {c.intermediateSize(), h});
            m.put(lp + "mlp.up_proj.weight", new long[] {c.intermediateSize(), h});
            m.put(lp + "mlp.down_proj.weight", new long[] {h, c.intermediateSize()});
        }
        m.put("model.norm.weight", new long[] {h});
        m.put("lm_head.weight", new long[] {c.vocabSize(), h});
        return Collections.unmodifiableMap(m);
    }

    /** Parameters of one decoder layer (attention + MLP + two norms). */
    public long llmLayerParams() {
        LlamaConfig c = config.llm();
        long h = c.hiddenSize();
        long q = (long) c.numAttentionHeads() * c.headDim();
        long kv = (long) c.numKeyValueHeads() * c.headDim();
        return h * q * 2 + h * kv * 2 + 3L * h * c.intermediateSize() + 2 * h;
    }

    /**
     * LLM weight bytes one decode step reads at {@code bytesPerWeight} (2 for f16, 4 for f32, 34/32 for Q8_0): every
     * layer's matrices and the lm_head ({@code numHiddenLayers} layers, the full model); the
     * embedding row and norms are negligible and left out.
     */
    public long decodeWeightBytesPerToken(double bytesPerWeight) {
        LlamaConfig c = config.llm();
        long h = c.hiddenSize();
        long matrices = (llmLayerParams() - 2 * h) * c.numHiddenLayers() + (long) c.vocabSize() * h;
        return (long) (matrices * bytesPerWeight);
    }
}
