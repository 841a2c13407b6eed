package ai.convllava.bench;

import ai.convllava.bench.BenchRunner.Measurements;
import ai.convllava.bench.BenchRunner.Run;
import ai.convllava.model.api.EngineInfo;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.diagnostics.MachineProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark's result: one JSON record (top-level numbers are for the full model; when fewer layers
 * were run they are extrapolated, {@code "extrapolated": true}, and the raw numbers are kept under
 * {@code measured} and {@code calibration_1_layer}) and the same as a readable table.
 */
public final class BenchReport {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper SNAKE = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    private final Measurements m;
    private final ObjectNode record;
    private final List<String[]> rows = new ArrayList<>();
    private JsonNode pytorch;

    public BenchReport(Measurements m) {
        this.m = m;
        this.record = build();
    }

    public Measurements measurements() {
        return m;
    }

    public boolean extrapolated() {
        return m.oneLayer() != null;
    }

    public int fullLayers() {
        return m.model().config().llm().numHiddenLayers();
    }

    /** Full-depth value of an LLM-dependent quantity (extrapolated if needed). */
    double full(double atN, double atOne) {
        return extrapolated() ? Scaling.extrapolate(atN, atOne, m.main().layers(), fullLayers()) : atN;
    }

    double fullRate(double atN, double atOne) {
        return extrapolated() ? Scaling.extrapolateRate(atN, atOne, m.main().layers(), fullLayers()) : atN;
    }

    private ObjectNode build() {
        Run r = m.main();
        Run one = m.oneLayer() != null ? m.oneLayer() : r;
        int full = fullLayers();
        WeightFormat format = WeightFormat.valueOf(r.weightFormat());
        double bytesPerWeight = format.bytesPerWeight();
        ObjectNode o = JSON.createObjectNode();
        o.put("model", m.model().name());
        o.put("model_size", m.model().canvas());
        o.put("weight_format", format.name().toLowerCase(Locale.ROOT));
        o.put("tower_memory", m.towerMemory().toLowerCase(Locale.ROOT));
        o.put("device", r.device());
        o.put("threads", MachineProbe.intraOpThreads());
        o.put("quantized_decode_kernels", EngineInfo.quantKernelStatus());
        o.put("cores", Runtime.getRuntime().availableProcessors());
        o.put("layers", full);
        o.put("layers_run", r.layers());
        o.put("extrapolated", extrapolated());
        o.put("seed", m.options().seed());
        o.put("weights", m.options().fromDisk() != null ? "synthetic BF16 safetensors checkpoint" : "synthetic, generated in memory");

        double prefill = full(r.prefillMs(), one.prefillMs());
        o.put("load_ms", r.loadMs());
        if (extrapolated()) {
            // loading is proportional to the bytes read; the layers not loaded are added by size
            long runBytes = m.checkpointBytes();
            long fullBytes = runBytes + (long) (full - r.layers()) * m.model().llmLayerParams() * 2;
            o.put("load_ms_extrapolated", r.loadMs() * fullBytes / runBytes);
        }
        o.put("synthetic_generation_ms", m.syntheticGenerationMs());
        o.put("synthetic_values", m.syntheticValues());
        if (m.options().fromDisk() != null) {
            o.put("checkpoint_dir", m.options().fromDisk().toString());
            o.put("checkpoint_bytes", m.checkpointBytes());
            o.put("checkpoint_write_ms", m.checkpointWriteMs());
            o.put("checkpoint_reused", m.checkpointReused());
        }
        o.put("image_preprocess_ms", r.preprocessMs());
        o.put("vision_encode_ms", r.visionEncodeMs());
        o.put("projector_ms", m.projectorMs());
        o.put("image_tokens", r.imageTokens());
        o.put("prefill_ms", prefill);
        o.put("prefill_tokens", r.prefillTokens());
        o.put("ttft_ms", r.ttftMs() + (prefill - r.prefillMs()));
        o.put("preencode_prefill_ms", full(r.preencodePrefillMs(), one.preencodePrefillMs()));
        o.put("preencoded_ttft_ms", full(r.preencodedTtftMs(), one.preencodedTtftMs()));
        o.put("preencoded_new_tokens", r.preencodedNewTokens());
        o.put("typed_ttft_ms", full(r.typedTtftMs(), one.typedTtftMs()));
        o.put("typed_new_tokens", r.typedNewTokens());
        o.put("followup_ttft_ms", full(r.followupTtftMs(), one.followupTtftMs()));
        o.put("followup_new_tokens", r.followupNewTokens());
        o.put("decode_tokens", m.options().decodeTokens());
        o.put("decode_tokens_generated", r.decodeTokensGenerated());
        o.put("finish_reason", r.finishReason());
        double tps = fullRate(r.decodeTokensPerS(), one.decodeTokensPerS());
        o.put("decode_tokens_per_s", tps);
        o.put("decode_tokens_per_s_attention", fullRate(r.decodeTokensPerSAttention(), one.decodeTokensPerSAttention()));
        long wbpt = m.model().decodeWeightBytesPerToken(bytesPerWeight);
        o.put("weight_bytes_per_token", wbpt);
        o.put("decode_effective_gbs", tps * wbpt / 1e9);
        // a missing layer would hold its weights and its share of the conversation's KV cache
        var llmConfig = m.model().config().llm();
        int capacity = BenchRunner.cacheCapacity(r.prefillTokens() + 2 * m.options().decodeTokens(), m.options().contextTokens());
        int headDim = llmConfig.hiddenSize() / llmConfig.numAttentionHeads();
        long kvPerLayerToken = (long) (2L * llmConfig.numKeyValueHeads() * headDim * format.cpuKvCacheBytesPerValue(headDim));
        long kvPerLayer = kvPerLayerToken * capacity;
        long layerWeightBytes = (long) (m.model().llmLayerParams() * bytesPerWeight);
        long layerBytes = layerWeightBytes + kvPerLayer;
        long peak = extrapolated() ? Scaling.extrapolateBytes(m.peakRssBytes(), layerBytes, r.layers(), full) : m.peakRssBytes();
        o.put("peak_rss_bytes", peak);
        o.put("peak_rss_bytes_measured", m.peakRssBytes());
        o.put("peak_rss_scope", r.conversationPeakOnly() ? "the conversation (VmHWM reset after the load)" : "the process, load included");
        // issue 19's target holds a 2048-token cache: the conversation's cache grown to it, every layer, computed from its bytes per token
        o.put("kv_cache_tokens", capacity);
        o.put("peak_rss_bytes_kv2048", peak + Math.max(0, 2048 - capacity) * kvPerLayerToken * full);
        // which phase makes the peak, and how much of it is C (libtorch) or Java memory
        ArrayNode phases = o.putArray("phase_peaks");
        for (PhaseMemory.Peak p : r.phases()) {
            ObjectNode pn = phases.addObject();
            pn.put("phase", p.phase());
            pn.put("peak_rss_bytes", extrapolated() ? Scaling.extrapolateBytes(p.peakRssBytes(), layerBytes, r.layers(), full) : p.peakRssBytes());
            pn.put("peak_rss_bytes_measured", p.peakRssBytes());
            pn.put("c_heap_bytes_measured", p.cHeapBytes());
            pn.put("java_heap_committed_bytes_measured", p.javaCommittedBytes());
            pn.put("java_heap_used_bytes_measured", p.javaUsedBytes());
        }
        o.put("load_peak_rss_bytes", extrapolated() ? Scaling.extrapolateBytes(r.loadPeakRssBytes(), layerWeightBytes, r.layers(), full)
                : r.loadPeakRssBytes());
        o.put("load_peak_rss_bytes_measured", r.loadPeakRssBytes());

        if (m.machine() != null) {
            MachineProbe.Machine mc = m.machine();
            ObjectNode mn = o.putObject("machine");
            mn.put("memory_bandwidth_gbs", mc.memoryBandwidthGbs());
            mn.put("memory_bandwidth_method", "PyTorch in-place add of two " + mc.copyBytes() / (1 << 20)
                    + " MiB float32 arrays, (2 reads + 1 write) / time, best of 3");
            mn.put("memory_read_bandwidth_gbs", mc.memoryReadBandwidthGbs());
            mn.put("memory_read_bandwidth_method", "PyTorch sum of one " + mc.copyBytes() / (1 << 20) + " MiB float32 array, bytes / time, best of 3");
            mn.put("gemm_gflops", mc.gemmGflops());
            mn.put("gemm_method", "DJL matMul " + mc.gemmSize() + "x" + mc.gemmSize() + " float32, 2n^3 / time, best of 3");
            mn.put("cores", mc.cores());
            mn.put("intra_op_threads", mc.threads());
            mn.put("interop_threads", mc.interopThreads());
            mn.put("cpu", mc.cpuModel());
            mn.put("memory_bytes", mc.memTotalBytes());
            mn.put("java", mc.javaVersion());
            mn.put("pytorch", mc.pytorchVersion());
            mn.put("load_average_before", m.loadAverageStart());
            mn.put("load_average_after", m.loadAverageEnd());
            o.put("decode_bandwidth_fraction", tps * wbpt / 1e9 / mc.memoryBandwidthGbs());
            o.put("decode_read_bandwidth_fraction", tps * wbpt / 1e9 / mc.memoryReadBandwidthGbs());
        }
        o.set("measured", runJson(r));
        if (m.oneLayer() != null) {
            o.set("calibration_1_layer", runJson(m.oneLayer()));
            o.put("extrapolation", "q(" + full + ") = q(" + r.layers() + ") + " + (full - r.layers()) + " * (q(" + r.layers()
                    + ") - q(1)) / " + (r.layers() - 1) + " for prefill, TTFTs and time per decoded token; q(1) from the same"
                    + " conversation on a one-layer model with a tiny tower of the same canvas; peak RSS adds the missing layers' weights and KV cache");
        }
        return o;
    }

    private static ObjectNode runJson(Run r) {
        return SNAKE.valueToTree(r);
    }

    /** Adds the PyTorch reference (the JSON line of tests/bench/pytorch_bench.py) and our/PyTorch ratios. */
    public void withPytorch(JsonNode torch) {
        this.pytorch = torch;
        record.set("pytorch", torch);
        ObjectNode ratios = record.putObject("ratio_ours_to_pytorch");
        ratio(ratios, "vision_encode", record.path("vision_encode_ms").asDouble(), torch.path("vision_encode_ms").asDouble());
        ratio(ratios, "prefill", record.path("prefill_ms").asDouble(), torch.path("prefill_ms").asDouble());
        double ourStep = record.path("decode_tokens_per_s").asDouble() > 0 ? 1000 / record.path("decode_tokens_per_s").asDouble() : 0;
        ratio(ratios, "decode_step", ourStep, torch.path("decode_step_ms").asDouble());
    }

    private static void ratio(ObjectNode out, String name, double ours, double theirs) {
        if (ours > 0 && theirs > 0) {
            out.put(name, ours / theirs);
        }
    }

    public ObjectNode json() {
        return record;
    }

    /** The readable table. */
    public String table() {
        rows.clear();
        ObjectNode o = record;
        String x = extrapolated() ? " (extrapolated from " + m.main().layers() + " layers)" : "";
        row("model", o.path("model").asText() + ", " + o.path("layers").asInt() + " layers" + (extrapolated() ? ", " + m.main().layers()
                + " run" : ""), "");
        row("weights", o.path("weight_format").asText() + " in memory; " + o.path("weights").asText(), "");
        row("device", o.path("device").asText(), "");
        row("threads / cores", o.path("threads").asInt() + " / " + o.path("cores").asInt(), "");
        row("load", ms(o.path("load_ms").asDouble()), extrapolated() ? "measured; ~" + ms(o.path("load_ms_extrapolated").asDouble())
                + " for 32 layers" : "");
        if (o.has("checkpoint_dir")) {
            row("  checkpoint written", o.path("checkpoint_reused").asBoolean() ? "reused" : ms(o.path("checkpoint_write_ms").asDouble()),
                    String.format("%.2f GB of BF16 safetensors, before the load", o.path("checkpoint_bytes").asLong() / 1e9));
        } else {
            row("  synthetic value generation", ms(o.path("synthetic_generation_ms").asDouble()), String.format(
                    "%.2f G values, thread time, part of the load", o.path("synthetic_values").asLong() / 1e9));
        }
        row("image preprocess", ms(o.path("image_preprocess_ms").asDouble()), IMAGE_DESC);
        row("vision encode", ms(o.path("vision_encode_ms").asDouble()), "tower + projector, " + o.path("image_tokens").asInt()
                + " visual tokens");
        row("  projector", ms(o.path("projector_ms").asDouble()), "alone, median of 3");
        row("prefill", ms(o.path("prefill_ms").asDouble()), o.path("prefill_tokens").asInt() + " tokens" + x);
        row("time to first token", ms(o.path("ttft_ms").asDouble()), "cold: preprocess + encode + prefill" + x);
        row("  after pre-encoding", ms(o.path("preencoded_ttft_ms").asDouble()), o.path("preencoded_new_tokens").asInt()
                + " new tokens" + x);
        row("  question read while typed", ms(o.path("typed_ttft_ms").asDouble()), o.path("typed_new_tokens").asInt()
                + " new tokens" + x);
        row("  follow-up question", ms(o.path("followup_ttft_ms").asDouble()), o.path("followup_new_tokens").asInt()
                + " new tokens" + x);
        row("decode", String.format("%.2f tokens/s", o.path("decode_tokens_per_s").asDouble()), o.path("decode_tokens_generated").asInt()
                + " tokens generated (" + o.path("finish_reason").asText() + ")" + x);
        row("  with attention recorded", String.format("%.2f tokens/s", o.path("decode_tokens_per_s_attention").asDouble()), x.trim());
        row("  weight bytes per token", String.format("%.2f GB", o.path("weight_bytes_per_token").asLong() / 1e9),
                String.format("%.1f GB/s effective", o.path("decode_effective_gbs").asDouble()));
        row("peak RSS", String.format("%.2f GB", o.path("peak_rss_bytes").asLong() / 1e9), (extrapolated()
                ? String.format("%.2f GB measured + missing layers' weights and KV cache; tower %s", o.path("peak_rss_bytes_measured").asLong() / 1e9,
                o.path("tower_memory").asText()) : "VmHWM; tower " + o.path("tower_memory").asText()) + "; " + o.path("peak_rss_scope").asText());
        row("  with a 2048-token KV cache", String.format("%.2f GB", o.path("peak_rss_bytes_kv2048").asLong() / 1e9),
                "the conversation's " + o.path("kv_cache_tokens").asInt() + "-token cache grown to 2048 (computed)");
        for (JsonNode p : o.path("phase_peaks")) {
            row("  " + p.path("phase").asText(), String.format("%.2f GB", p.path("peak_rss_bytes").asLong() / 1e9), String.format(
                    "measured %.2f GB: C heap %.2f, Java heap %.2f committed (%.2f used)", p.path("peak_rss_bytes_measured").asLong() / 1e9,
                    p.path("c_heap_bytes_measured").asLong() / 1e9, p.path("java_heap_committed_bytes_measured").asLong() / 1e9,
                    p.path("java_heap_used_bytes_measured").asLong() / 1e9));
        }
        row("  while loading", String.format("%.2f GB", o.path("load_peak_rss_bytes").asLong() / 1e9), extrapolated()
                ? String.format("%.2f GB measured + missing layers' weights", o.path("load_peak_rss_bytes_measured").asLong() / 1e9) : "VmHWM");
        if (o.has("machine")) {
            JsonNode mc = o.path("machine");
            row("memory bandwidth", String.format("%.1f GB/s", mc.path("memory_bandwidth_gbs").asDouble()), String.format(
                    "in-place add, 2 x 1 GiB; decode at %.0f%%", 100 * o.path("decode_bandwidth_fraction").asDouble()));
            row("  reads only", String.format("%.1f GB/s", mc.path("memory_read_bandwidth_gbs").asDouble()), String.format(
                    "sum of 1 GiB; decode at %.0f%%", 100 * o.path("decode_read_bandwidth_fraction").asDouble()));
            row("float32 GEMM", String.format("%.1f GFLOP/s", mc.path("gemm_gflops").asDouble()), mc.path("gemm_method").asText());
            row("load average", mc.path("load_average_before").asText() + " -> " + mc.path("load_average_after").asText(),
                    "1/5/15 min, before -> after; other work on the machine skews the numbers");
        }
        if (pytorch != null) {
            JsonNode t = pytorch;
            JsonNode rt = o.path("ratio_ours_to_pytorch");
            row("PyTorch " + t.path("torch_version").asText() + " vision encode", ms(t.path("vision_encode_ms").asDouble()),
                    String.format("ours / PyTorch = %.2f", rt.path("vision_encode").asDouble()));
            row("PyTorch prefill", ms(t.path("prefill_ms").asDouble()), String.format("ours / PyTorch = %.2f%s",
                    rt.path("prefill").asDouble(), t.path("extrapolated").asBoolean() ? " (extrapolated from " + t.path("layers_run").asInt()
                            + " layers)" : ""));
            row("PyTorch decode step", ms(t.path("decode_step_ms").asDouble()), String.format("ours / PyTorch = %.2f (%s weights)",
                    rt.path("decode_step").asDouble(), t.path("dtype").asText()));
        }
        int w0 = 0;
        int w1 = 0;
        for (String[] r : rows) {
            w0 = Math.max(w0, r[0].length());
            w1 = Math.max(w1, r[1].length());
        }
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            sb.append(String.format("%-" + w0 + "s  %" + w1 + "s  %s", r[0], r[1], r[2]).stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    static final String IMAGE_DESC = BenchRunner.IMAGE_WIDTH + "x" + BenchRunner.IMAGE_HEIGHT + " RGB, padded to the canvas";

    private void row(String name, String value, String note) {
        rows.add(new String[] {name, value, note});
    }

    private static String ms(double v) {
        return v >= 10_000 ? String.format("%.1f s", v / 1000) : String.format("%.0f ms", v);
    }
}
