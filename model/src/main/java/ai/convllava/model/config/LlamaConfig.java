package ai.convllava.model.config;

import java.nio.file.Path;

/**
 * The language model half of a ConvLLaVA config.json (Vicuna-7B: hidden 4096, 32 layers, 32 heads,
 * MLP 11008, vocab 32000, RoPE theta 10000, RMSNorm eps 1e-5). Field names follow transformers'
 * {@code LlamaConfig}; the compact constructor validates like transformers does and puts the values
 * in the message.
 */
public record LlamaConfig(
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int maxPositionEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        int vocabSize,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId) {

    public LlamaConfig {
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("max_position_embeddings", maxPositionEmbeddings);
        positive("vocab_size", vocabSize);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new ConfigException("hidden_size must be divisible by num_attention_heads (got hidden_size=" + hiddenSize
                    + ", num_attention_heads=" + numAttentionHeads + ")");
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new ConfigException("num_attention_heads must be a multiple of num_key_value_heads (got num_attention_heads="
                    + numAttentionHeads + ", num_key_value_heads=" + numKeyValueHeads + ")");
        }
        if ((hiddenSize / numAttentionHeads) % 2 != 0) {
            throw new ConfigException("head_dim must be even for rotary embeddings (got hidden_size=" + hiddenSize
                    + ", num_attention_heads=" + numAttentionHeads + ")");
        }
        if (!(rmsNormEps > 0 && rmsNormEps < 1)) {
            throw new ConfigException("rms_norm_eps must be in (0, 1) (got rms_norm_eps=" + rmsNormEps + ")");
        }
        if (!(ropeTheta > 1)) {
            throw new ConfigException("rope_theta must be > 1 (got rope_theta=" + ropeTheta + ")");
        }
        if (bosTokenId < 0 || bosTokenId >= vocabSize || eosTokenId < 0 || eosTokenId >= vocabSize) {
            throw new ConfigException("bos_token_id and eos_token_id must be within the vocabulary (got bos_token_id=" + bosTokenId
                    + ", eos_token_id=" + eosTokenId + ", vocab_size=" + vocabSize + ")");
        }
    }

    private static void positive(String field, int v) {
        if (v <= 0) {
            throw new ConfigException(field + " must be positive (got " + field + "=" + v + ")");
        }
    }

    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    static LlamaConfig from(JsonConfig j) {
        if (j.has("rope_scaling")) {
            throw j.error("rope_scaling", j.node("rope_scaling"), "is not supported (ConvLLaVA uses plain RoPE)");
        }
        String act = j.text("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw j.error("hidden_act", act, "must be silu for a LLaMA model");
        }
        int heads = j.integer("num_attention_heads");
        try {
            return new LlamaConfig(
                    j.integer("hidden_size"),
                    j.integer("intermediate_size"),
                    j.integer("num_hidden_layers"),
                    heads,
                    j.integer("num_key_value_heads", heads),
                    j.integer("max_position_embeddings", 4096),
                    j.number("rms_norm_eps", 1e-6),
                    j.number("rope_theta", 10000.0),
                    j.integer("vocab_size"),
                    j.bool("tie_word_embeddings", false),
                    j.integer("bos_token_id", 1),
                    j.integer("eos_token_id", 2));
        } catch (ConfigException e) {
            throw new ConfigException(j.file + ": " + e.getMessage(), e);
        }
    }

    public static LlamaConfig read(Path configJson) {
        return from(JsonConfig.read(configJson));
    }
}
