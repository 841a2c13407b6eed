package ai.convllava.model.api;

import ai.convllava.model.diagnostics.MachineProbe;

import java.util.Locale;

/**
 * What this computer does for ConvLLaVA, measured in a few seconds (memory read bandwidth and
 * float32 GEMM rate, as {@code convllava bench} measures them), and what a published size should
 * then take: the first answer (vision encode + prefill, compute-bound) and decode (reads every
 * float16 weight once per token, bandwidth-bound).
 *
 * <p>The two efficiencies are this project's own bench results (docs/bench/README.md, "The speed
 * estimate": ConvLLaVA-1536 in float16 on the 2-core test machine, decode against the read bandwidth
 * measured in the same run, the cold first answer against the GEMM probe's rate). Elsewhere they are an
 * estimate, and say so.
 *
 * @param readBandwidthGbs memory read bandwidth, GB/s (a sum over an array far larger than the caches)
 * @param gemmGflops       float32 GEMM throughput on all cores, GFLOP/s
 */
public record MachineSpeed(double readBandwidthGbs, double gemmGflops) {
    /** Decode's share of the read bandwidth with float16 weights, as the bench measured it. */
    static final double DECODE_EFFICIENCY = 0.6;
    /**
     * The Java mat-vec kernels of Q8_0 and Q4_K are bound by arithmetic (widening the blocks), not by
     * memory, on the machines measured: their decode rate as a share of the float32 GEMM probe's
     * GFLOP/s, 2 FLOP per weight (docs/bench/quant.md); where memory is slower they are capped by
     * the bandwidth like float16.
     */
    static final double Q8_DECODE_GEMM_SHARE = 0.15;
    static final double Q4_DECODE_GEMM_SHARE = 0.125;
    /** The first answer's share of the GEMM probe's rate, as the bench measured it. */
    static final double COMPUTE_EFFICIENCY = 0.9;
    /** Vision tower + projector at a 1536 canvas (ConvNeXt-L + the 3072-wide fifth stage), FLOP; scales with the canvas area. */
    static final double VISION_FLOP_1536 = 3.9e12;
    /** Vicuna-7B's parameters: 2 FLOP each per prompt token. */
    static final double LLM_PARAMETERS = 6.74e9;
    /** Float16 weight bytes read per generated token (every linear layer and lm_head once). */
    static final double DECODE_BYTES_PER_TOKEN = 13.21e9;
    /** Prompt tokens besides the visual ones: the system prompt, a question and the template (638 - 576 in the bench). */
    static final int TEXT_TOKENS = 62;

    /** Array size for the bandwidth probe: far beyond any cache, small beside a loaded model. */
    private static final long PROBE_BYTES = 256L << 20;
    private static final int PROBE_GEMM = 2048;

    public MachineSpeed {
        if (!(readBandwidthGbs > 0) || !(gemmGflops > 0) || Double.isInfinite(readBandwidthGbs) || Double.isInfinite(gemmGflops)) {
            throw new IllegalArgumentException("machine speeds must be positive and finite: " + readBandwidthGbs + " GB/s, " + gemmGflops + " GFLOP/s");
        }
    }

    /**
     * Measures this computer now (a couple of seconds; one 256 MB array and three 16 MB matrices, freed
     * at once). Other work on the machine lowers the figures.
     */
    public static MachineSpeed measure() {
        // best of 6: in a fresh JVM the first passes read slower, and 6 of them reach the bench's own figure
        return MachineProbe.speed(PROBE_BYTES, PROBE_GEMM, 6);
    }

    /** What a size should take here. */
    public record Estimate(double firstAnswerSeconds, double decodeTokensPerSecond) {
        /** "first answer ~1.9 min, then ~0.8 tokens/s". */
        public String describe() {
            String first = firstAnswerSeconds < 90 ? String.format(Locale.ROOT, "~%.0f s", firstAnswerSeconds)
                    : String.format(Locale.ROOT, "~%.1f min", firstAnswerSeconds / 60);
            return String.format(Locale.ROOT, "first answer %s, then ~%.1f tokens/s", first, decodeTokensPerSecond);
        }
    }

    /** The estimate for a model with this canvas side and number of visual tokens, float16 weights on the CPU. */
    public Estimate estimate(int canvas, int visualTokens) {
        if (canvas <= 0 || visualTokens <= 0) {
            throw new IllegalArgumentException("canvas and visual tokens must be positive: " + canvas + ", " + visualTokens);
        }
        double side = canvas / 1536.0;
        double flop = VISION_FLOP_1536 * side * side + 2 * LLM_PARAMETERS * (visualTokens + TEXT_TOKENS);
        double firstAnswer = flop / (COMPUTE_EFFICIENCY * gemmGflops * 1e9);
        double decode = DECODE_EFFICIENCY * readBandwidthGbs * 1e9 / DECODE_BYTES_PER_TOKEN;
        return new Estimate(firstAnswer, decode);
    }

    /**
     * The same with the language model's weights in {@code format}: the first answer as float16's;
     * decoding by the bytes it reads, and for Q8_0 and Q4_K no faster than their kernels compute.
     */
    public Estimate estimate(int canvas, int visualTokens, WeightFormat format) {
        Estimate f16 = estimate(canvas, visualTokens);
        double bytes = DECODE_BYTES_PER_TOKEN / 2 * format.bytesPerWeight();
        double decode = DECODE_EFFICIENCY * readBandwidthGbs * 1e9 / bytes;
        double share = switch (format) {
            case Q8_0 -> Q8_DECODE_GEMM_SHARE;
            case Q4_K -> Q4_DECODE_GEMM_SHARE;
            default -> 0;
        };
        if (share > 0) {
            double flopPerToken = DECODE_BYTES_PER_TOKEN / 2 * 2; // every LLM weight once, a multiply and an add
            decode = Math.min(decode, share * gemmGflops * 1e9 / flopPerToken);
        }
        return new Estimate(f16.firstAnswerSeconds(), decode);
    }

    /** "18 GB/s memory reads, 105 GFLOP/s". */
    public String describe() {
        return String.format(Locale.ROOT, "%.0f GB/s memory reads, %.0f GFLOP/s", readBandwidthGbs, gemmGflops);
    }
}
