package ai.convllava.bench;

import java.util.Arrays;
import java.nio.FloatBuffer;
import ai.convllava.model.spi.DType;
import ai.convllava.model.spi.MissingWeightException;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.config.VisionTower;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.engine.ModelLoader;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.api.Device;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.nn.ConvNextEncoder;
import ai.convllava.model.nn.LlamaForCausalLM;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.nn.MlpProjector;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticWeightsTest {

    @Test
    void keysAreExactlyWhatTheEngineReadsPlusTheUnusedFinalNorm() {
        SyntheticModel m = TinySynthetic.model(2);
        Set<String> expected = new HashSet<>(ConvNextEncoder.keys(VisionTower.EMBEDDED_PREFIX, m.tower()));
        expected.addAll(MlpProjector.keys());
        expected.addAll(LlamaForCausalLM.keys(m.config().llm(), 0));
        expected.add(VisionTower.EMBEDDED_PREFIX + "layernorm.weight");
        expected.add(VisionTower.EMBEDDED_PREFIX + "layernorm.bias");
        assertEquals(expected, new SyntheticWeights(m, 1).keys());
    }

    @Test
    void fullSizeShapesAreThePublishedOnes() {
        SyntheticWeights w = new SyntheticWeights(SyntheticModel.convLlava(1536), 7);
        assertArrayEquals(new long[] {192, 3, 4, 4}, w.info(VisionTower.EMBEDDED_PREFIX + "embeddings.patch_embeddings.weight").shape());
        assertArrayEquals(new long[] {3072, 1536, 2, 2}, w.info(VisionTower.EMBEDDED_PREFIX + "encoder.stages.4.downsampling_layer.1.weight").shape());
        assertTrue(w.contains(VisionTower.EMBEDDED_PREFIX + "encoder.stages.2.layers.26.pwconv1.weight"));
        assertTrue(w.contains(VisionTower.EMBEDDED_PREFIX + "encoder.stages.4.layers.5.layer_scale_parameter"));
        assertArrayEquals(new long[] {4096, 3072}, w.info("model.mm_projector.0.weight").shape());
        assertArrayEquals(new long[] {11008, 4096}, w.info("model.layers.31.mlp.gate_proj.weight").shape());
        assertArrayEquals(new long[] {32000, 4096}, w.info("lm_head.weight").shape());
        assertEquals(DType.BF16, w.info("lm_head.weight").dtype());
        assertEquals(576, SyntheticModel.convLlava(1536).imageTokens());
        assertEquals(256, SyntheticModel.convLlava(1024).imageTokens());
        assertEquals(144, SyntheticModel.convLlava(768).imageTokens());
        // Vicuna-7B: 6.74 G parameters; the whole checkpoint in BF16 is about 14.8 GB with the encoder
        long llm = SyntheticModel.convLlava(1536).llmLayerParams() * 32 + 2L * 32000 * 4096;
        assertEquals(6.74e9, llm, 0.01e9);
        assertEquals(14.8e9, w.totalBytes(), 0.2e9);
        assertThrows(MissingWeightException.class, () -> w.readFloat32("model.layers.0.mlp.gate_proj.weight", 4096, 11008));
        assertThrows(MissingWeightException.class, () -> w.info("model.layers.32.mlp.gate_proj.weight"));
    }

    @Test
    void valuesDependOnSeedAndKeyOnlyAndAreBf16() {
        SyntheticModel m = TinySynthetic.model(2);
        String a = "model.layers.1.mlp.up_proj.weight";
        String b = "lm_head.weight";
        SyntheticWeights w1 = new SyntheticWeights(m, 5);
        float[] a1 = w1.readFloatArray(a);
        float[] b1 = w1.readFloatArray(b);
        SyntheticWeights w2 = new SyntheticWeights(m, 5);
        float[] b2 = w2.readFloatArray(b); // other order
        float[] a2 = w2.readFloatArray(a);
        assertArrayEquals(a1, a2);
        assertArrayEquals(b1, b2);
        float[] direct = new float[a1.length];
        w2.readFloat32(a).asFloatBuffer().get(direct);
        assertArrayEquals(a1, direct);
        assertFalse(java.util.Arrays.equals(a1, new SyntheticWeights(m, 6).readFloatArray(a)));
        for (float v : b1) {
            assertEquals(0, Float.floatToRawIntBits(v) & 0xFFFF, "not a bfloat16 value: " + v);
        }
    }

    @Test
    void initialisationFollowsTheKindOfTensor() {
        SyntheticWeights w = new SyntheticWeights(TinySynthetic.model(2), 3);
        float[] head = w.readFloatArray("lm_head.weight");
        for (int i = 0; i < SyntheticWeights.ZERO_LM_HEAD_ROWS * 32; i++) {
            assertEquals(0f, head[i], "special-token rows of lm_head are zero");
        }
        double std = std(head, SyntheticWeights.ZERO_LM_HEAD_ROWS * 32);
        assertEquals(1 / Math.sqrt(32), std, 0.03 / Math.sqrt(32));
        for (float v : w.readFloatArray("model.layers.0.input_layernorm.weight")) {
            assertTrue(v > 0.94 && v < 1.06, "norm weight " + v);
        }
        for (float v : w.readFloatArray(VisionTower.EMBEDDED_PREFIX + "encoder.stages.0.layers.0.layer_scale_parameter")) {
            assertEquals(0.5f, v);
        }
        for (float v : w.readFloatArray("model.mm_projector.0.bias")) {
            assertTrue(Math.abs(v) <= 0.0201, "bias " + v);
        }
        assertEquals(7 * 7, 1 / Math.pow(std(w.readFloatArray(VisionTower.EMBEDDED_PREFIX + "encoder.stages.4.layers.0.dwconv.weight"), 0), 2),
                15);
    }

    private static double std(float[] v, int from) {
        double s = 0;
        double s2 = 0;
        for (int i = from; i < v.length; i++) {
            s += v[i];
            s2 += (double) v[i] * v[i];
        }
        int n = v.length - from;
        return Math.sqrt(s2 / n - (s / n) * (s / n));
    }

    @Test
    void theEngineBuildsAndGeneratesFromSyntheticWeights() {
        SyntheticModel m = TinySynthetic.model(2);
        SyntheticWeights w = new SyntheticWeights(m, 11);
        try (ConvLlava model = ModelLoader.load(LoadOptions.ofSource(new SyntheticSource(m, w)), LoadListener.NONE, () -> false)) {
            assertEquals(Set.of(), model.unusedKeys());
            assertEquals(Set.of(VisionTower.EMBEDDED_PREFIX + "layernorm.weight", VisionTower.EMBEDDED_PREFIX + "layernorm.bias"),
                    w.unusedKeys());
            var pre = model.preprocessor().preprocess(BenchRunner.syntheticImage(200, 150, 1), CanvasMode.PAD);
            int[] ids = ConversationPrompt.imageQuestion(BenchRunner.QUESTION).inputIds(model.tokenizer());
            try (ImageFeatures f = model.encodeImage(pre, null, () -> false); Conversation conv = model.newConversation(200)) {
                assertEquals(m.imageTokens(), f.tokens());
                GenerationResult r = model.generate(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false, null,
                        System.nanoTime());
                assertNull(r.error());
                assertEquals(FinishReason.LENGTH, r.finishReason(), "never stops early on EOS");
                assertEquals(16, r.generatedIds().length);
                // the answer's text encodes back to its ids, so a follow-up reuses the cache
                assertArrayEquals(r.generatedIds(), model.tokenizer().encode(r.text()));
            }
        }
    }

    @Test
    void aWrittenCheckpointReadsBackBitIdentical(@TempDir Path dir) {
        SyntheticModel m = TinySynthetic.model(2);
        SyntheticWeights w = new SyntheticWeights(m, 9);
        assertFalse(SyntheticCheckpoint.isUpToDate(dir, w));
        SyntheticCheckpoint.write(dir, w);
        assertTrue(SyntheticCheckpoint.isUpToDate(dir, w));
        assertFalse(SyntheticCheckpoint.isUpToDate(dir, new SyntheticWeights(m, 10)));
        try (ShardedCheckpoint c = ShardedCheckpoint.open(dir)) {
            assertEquals(w.keys(), c.keys());
            List<String> differ = new ArrayList<>();
            for (String k : w.keys()) {
                assertArrayEquals(w.info(k).shape(), c.info(k).shape(), k);
                assertEquals(DType.BF16, c.info(k).dtype());
                if (!java.util.Arrays.equals(w.readFloatArray(k), c.readFloatArray(k))) {
                    differ.add(k);
                }
            }
            assertEquals(List.of(), differ);
        }
    }

    @Test
    void syntheticWeightsReadRangesExactlyAsWholeTensors() {
        SyntheticModel tiny = SyntheticModel.convLlava(768).withTinyTower().withLlmLayers(1);
        try (SyntheticWeights w = new SyntheticWeights(tiny, 7)) {
            String key = "model.layers.0.self_attn.q_proj.weight";
            float[] all = w.readFloatArray(key);
            int n = 200_003; // crosses several generation chunks, starts mid-chunk
            long first = 65_536 * 3 - 17;
            FloatBuffer dst = FloatBuffer.allocate(n + 3);
            dst.put(1.5f);
            w.readRangeInto(key, first, n, dst);
            assertEquals(n + 1, dst.position());
            float[] got = Arrays.copyOfRange(dst.array(), 1, n + 1);
            assertArrayEquals(Arrays.copyOfRange(all, (int) first, (int) first + n), got, 0f);
            assertThrows(IllegalArgumentException.class, () -> w.readRangeInto(key, all.length - 2, 3, FloatBuffer.allocate(3)));
            assertThrows(IllegalArgumentException.class, () -> w.readRangeInto(key, 0, 10, FloatBuffer.allocate(9)));
            assertThrows(IllegalArgumentException.class, () -> w.readRangeInto(key, -1, 1, FloatBuffer.allocate(1)));
        }
    }
}
