package ai.convllava.model.engine;

import ai.convllava.model.Goldens;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * The tiny fixture model made wide enough for every quantized format: the same tokenizer, prompt and
 * vision tower, and a LLaMA of hidden size 256 and MLP 512 (whole Q4_K blocks of 256 in every row) with
 * Gaussian weights of std 1/sqrt(in) (norms 1), written as one float32 safetensors shard.
 */
final class WideFixture {
    static final int HIDDEN = 256;
    static final int MLP = 512;
    static final int LAYERS = 2;
    static final int HEADS = 4;
    static final int KV_HEADS = 2;
    static final int VOCAB = 32000;

    private WideFixture() {
    }

    /** Writes the model into {@code dir} and returns it. */
    static Path write(Path dir, long seed) throws IOException {
        Path tiny = Goldens.TINY.resolve("tiny-convllava");
        Files.createDirectories(dir);
        for (String f : new String[] {"tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"}) {
            Files.copy(tiny.resolve(f), dir.resolve(f));
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = (ObjectNode) json.readTree(tiny.resolve("config.json").toFile());
        cfg.put("hidden_size", HIDDEN).put("intermediate_size", MLP).put("num_hidden_layers", LAYERS)
                .put("num_attention_heads", HEADS).put("num_key_value_heads", KV_HEADS).put("torch_dtype", "float32")
                .put("mm_vision_tower", Goldens.TINY.resolve("tiny-convllava-convnext").toAbsolutePath().normalize().toString());
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), cfg);
        int mm = cfg.get("mm_hidden_size").asInt();
        int kv = KV_HEADS * (HIDDEN / HEADS);

        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {VOCAB, HIDDEN});
        for (int i = 0; i < LAYERS; i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "input_layernorm.weight", new long[] {HIDDEN});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {HIDDEN, HIDDEN});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {kv, HIDDEN});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {kv, HIDDEN});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {HIDDEN, HIDDEN});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {HIDDEN});
            shapes.put(p + "mlp.gate_proj.weight", new long[] {MLP, HIDDEN});
            shapes.put(p + "mlp.up_proj.weight", new long[] {MLP, HIDDEN});
            shapes.put(p + "mlp.down_proj.weight", new long[] {HIDDEN, MLP});
        }
        shapes.put("model.norm.weight", new long[] {HIDDEN});
        shapes.put("lm_head.weight", new long[] {VOCAB, HIDDEN});
        shapes.put("model.mm_projector.0.weight", new long[] {HIDDEN, mm});
        shapes.put("model.mm_projector.0.bias", new long[] {HIDDEN});
        shapes.put("model.mm_projector.2.weight", new long[] {HIDDEN, HIDDEN});
        shapes.put("model.mm_projector.2.bias", new long[] {HIDDEN});

        ObjectNode header = json.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = numel(e.getValue());
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            t.putArray("shape").addAll(Arrays.stream(e.getValue()).mapToObj(json.getNodeFactory()::numberNode).toList());
            t.putArray("data_offsets").add(offset).add(offset + n * 4);
            offset += n * 4;
        }
        byte[] h = json.writeValueAsBytes(header);
        Random rnd = new Random(seed);
        try (OutputStream out = Files.newOutputStream(dir.resolve("model.safetensors"))) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            out.write(h);
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                long[] s = e.getValue();
                ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(numel(s) * 4)).order(ByteOrder.LITTLE_ENDIAN);
                boolean norm = e.getKey().endsWith("norm.weight");
                double std = s.length == 2 ? 1 / Math.sqrt(s[1]) : 0.02;
                for (long i = 0; i < numel(s); i++) {
                    b.putFloat(norm ? 1f : (float) (rnd.nextGaussian() * std));
                }
                out.write(b.array());
            }
        }
        return dir;
    }

    private static long numel(long[] s) {
        long n = 1;
        for (long d : s) {
            n *= d;
        }
        return n;
    }
}
