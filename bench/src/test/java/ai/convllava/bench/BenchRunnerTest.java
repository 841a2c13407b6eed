package ai.convllava.bench;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench code path on a tiny synthetic model: the record's fields and the extrapolation, no speeds asserted. */
class BenchRunnerTest {
    static final List<String> REQUIRED = List.of("model_size", "weight_format", "threads", "vision_encode_ms", "prefill_ms",
            "prefill_tokens", "ttft_ms", "preencoded_ttft_ms", "typed_ttft_ms", "typed_new_tokens", "followup_ttft_ms", "decode_tokens_per_s", "decode_tokens_per_s_attention",
            "weight_bytes_per_token", "peak_rss_bytes", "image_preprocess_ms", "projector_ms");

    static BenchOptions tiny(int modelLayers) {
        return BenchOptions.custom(TinySynthetic.model(modelLayers)).withDecodeTokens(6).withMachineProbe(1 << 20, 64);
    }

    @Test
    void aTruncatedRunIsExtrapolatedAndLabelled() {
        List<String> log = new ArrayList<>();
        BenchReport r = BenchRunner.run(tiny(6).withLayers(3), log::add);
        JsonNode j = r.json();
        for (String f : REQUIRED) {
            assertTrue(j.has(f), "missing " + f + " in " + j);
        }
        assertTrue(j.path("machine").has("memory_bandwidth_gbs"));
        assertTrue(j.path("machine").path("memory_read_bandwidth_gbs").asDouble() > 0);
        assertTrue(j.path("decode_read_bandwidth_fraction").asDouble() > 0);
        assertTrue(j.path("machine").has("gemm_gflops"));
        assertTrue(j.path("extrapolated").asBoolean());
        assertEquals(3, j.path("layers_run").asInt());
        assertEquals(6, j.path("layers").asInt());
        assertEquals(128, j.path("model_size").asInt());
        assertEquals(6, j.path("decode_tokens_generated").asInt());
        assertEquals("LENGTH", j.path("finish_reason").asText());
        JsonNode measured = j.path("measured");
        JsonNode one = j.path("calibration_1_layer");
        assertEquals(1, one.path("layers").asInt());
        // the top-level prefill is the arithmetic of Scaling on the two runs
        double expected = Scaling.extrapolate(measured.path("prefill_ms").asDouble(), one.path("prefill_ms").asDouble(), 3, 6);
        assertEquals(expected, j.path("prefill_ms").asDouble(), 1e-9);
        assertEquals(measured.path("ttft_ms").asDouble() + expected - measured.path("prefill_ms").asDouble(), j.path("ttft_ms").asDouble(), 1e-9);
        // prompt: BOS + text + image tokens
        assertEquals(j.path("image_tokens").asInt() + ai.convllava.model.tokenizer.ConversationPrompt.imageQuestion(BenchRunner.QUESTION)
                .inputIds(new SyntheticTokenizer(32000)).length - 1, j.path("prefill_tokens").asInt());
        assertTrue(j.path("followup_new_tokens").asInt() < 30, "the follow-up reuses the cached conversation");
        assertTrue(j.path("preencoded_new_tokens").asInt() < 30, "the pre-encoded prefix is reused");
        assertEquals(3, j.path("typed_new_tokens").asInt(), "the question was read while typed: only \" ASSISTANT:\" is new");
        assertEquals(3, measured.path("typed_new_tokens").asInt());
        assertEquals(Scaling.extrapolate(measured.path("typed_ttft_ms").asDouble(), one.path("typed_ttft_ms").asDouble(), 3, 6),
                j.path("typed_ttft_ms").asDouble(), 1e-9);
        assertTrue(r.table().contains("read while typed"), r.table());
        assertTrue(r.table().contains("extrapolated from 3 layers"));
        assertFalse(log.isEmpty());
    }

    @Test
    void eachPhaseReportsItsPeakAndAReservedContextIsTheCacheMeasured() {
        BenchReport r = BenchRunner.run(tiny(2).withMachineProbe(0, 0).withContextTokens(2048), s -> { });
        JsonNode j = r.json();
        assertEquals(2048, j.path("kv_cache_tokens").asInt(), "the reserved cache, not the default 1024");
        assertEquals(j.path("peak_rss_bytes").asLong(), j.path("peak_rss_bytes_kv2048").asLong(), "nothing left to compute");
        List<String> phases = new ArrayList<>();
        long highest = 0;
        for (JsonNode p : j.path("phase_peaks")) {
            phases.add(p.path("phase").asText());
            assertTrue(p.path("peak_rss_bytes_measured").asLong() > 0, p.toString());
            assertTrue(p.path("c_heap_bytes_measured").asLong() > 0, "glibc's [heap] mapping was read: " + p);
            assertTrue(p.path("java_heap_committed_bytes_measured").asLong() >= p.path("java_heap_used_bytes_measured").asLong(), p.toString());
            highest = Math.max(highest, p.path("peak_rss_bytes_measured").asLong());
        }
        assertEquals(7, phases.size(), phases.toString());
        assertTrue(phases.get(0).startsWith("pre-encode") && phases.get(6).equals("follow-up"), phases.toString());
        assertEquals(highest, j.path("peak_rss_bytes_measured").asLong(), "the conversation's peak is its highest phase");
        assertTrue(r.table().contains("cold question (vision encode, whole prompt, decode)"), r.table());
    }

    @Test
    void aFullDepthRunFromDiskReportsLoadAndIsNotExtrapolated(@TempDir Path dir) {
        BenchReport r = BenchRunner.run(tiny(2).withFromDisk(dir).withMachineProbe(0, 0), s -> { });
        JsonNode j = r.json();
        assertFalse(j.path("extrapolated").asBoolean());
        assertFalse(j.has("calibration_1_layer"));
        assertEquals(j.path("measured").path("prefill_ms").asDouble(), j.path("prefill_ms").asDouble());
        assertTrue(j.has("load_ms") && j.has("checkpoint_write_ms"));
        assertFalse(j.path("checkpoint_reused").asBoolean());
        BenchReport again = BenchRunner.run(tiny(2).withFromDisk(dir).withMachineProbe(0, 0), s -> { });
        assertTrue(again.json().path("checkpoint_reused").asBoolean());
    }
}
