package ai.convllava.model.reliability;

import ai.convllava.model.config.ConvNextConfig;
import ai.convllava.model.config.LlamaConfig;
import ai.convllava.model.api.WeightFormat;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The load-time memory prediction with ConvLLaVA-1536's real shapes (tests/fixtures/README.md). */
class MemoryEstimateTest {
    /** Vicuna-7B. */
    static final LlamaConfig VICUNA_7B = new LlamaConfig(4096, 11008, 32, 32, 32, 4096, 1e-5, 10000, 32000, false, 1, 2);
    /** ConvNeXt-L + ConvLLaVA's fifth stage, canvas 1536. */
    static final ConvNextConfig CONVNEXT_1536 = new ConvNextConfig(3, 4, new int[] {192, 384, 768, 1536, 3072},
            new int[] {3, 3, 27, 3, 6}, true, 1536);

    static MemoryEstimate real(WeightFormat f, int context) {
        return MemoryEstimate.of(VICUNA_7B, 3072, CONVNEXT_1536, 1536, f, context);
    }

    static double gb(long b) {
        return Math.round(b / 1e8) / 10.0;
    }

    @Test
    void convLlava1536Figures() {
        MemoryEstimate f16 = real(WeightFormat.F16, 4096);
        MemoryEstimate f32 = real(WeightFormat.F32, 4096);
        MemoryEstimate f16Short = real(WeightFormat.F16, 1024);
        // 6.74e9 LLM parameters (Vicuna-7B), 2 bytes each
        assertEquals(13.5, gb(f16.llmWeightBytes()), 0.15);
        assertEquals(27.0, gb(f32.llmWeightBytes()), 0.3);
        // ConvNeXt-L (~196M) + 6 blocks at 3072 (~454M) = ~0.65e9 parameters: float32, or pointwise linears in float16
        assertEquals(2.6, gb(f32.visionTowerBytes()), 0.15);
        assertEquals(1.3, gb(f16.visionTowerBytes()), 0.1);
        // streamed: stem, downsampling layers (25M weights) and the biggest block (a 3072-wide one, 75.5M weights), float16
        MemoryEstimate streamed = MemoryEstimate.of(VICUNA_7B, 3072, CONVNEXT_1536, 1536, WeightFormat.F16, 1024, true);
        assertEquals(0.2, gb(streamed.visionTowerBytes()), 0.05);
        // the projector's 29.4M weights as the tower's linears: float16 unless float32
        assertEquals((3072L * 4096 + 4096L * 4096) * 2 + 2 * 4096 * 4, f16.projectorBytes());
        assertEquals((3072L * 4096 + 4096L * 4096) * 4 + 2 * 4096 * 4, f32.projectorBytes());
        // and the token embeddings (32000 x 4096 float16) stay in the checkpoint
        assertEquals(32000L * 4096 * 2, f16Short.llmWeightBytes() - streamed.llmWeightBytes());
        assertEquals(f16Short.totalBytes() - f16Short.visionTowerBytes() + streamed.visionTowerBytes() - 32000L * 4096 * 2,
                streamed.totalBytes(), 0.05e9);
        // the full-size run of the benchmark (1536, f16, context ~830) peaks under 16 GB; the estimate is an upper bound of it
        assertTrue(real(WeightFormat.F16, 1024).totalBytes() < 17.5e9, gb(real(WeightFormat.F16, 1024).totalBytes()) + " GB");
        // 32 layers x 2 x 4096 x 4096 positions x 4 bytes
        assertEquals(32L * 2 * 4096 * 4096 * 4, f16.kvCacheBytes());
        assertEquals(f16.kvCacheBytes() / 4, f16Short.kvCacheBytes());
        assertTrue(f16.totalBytes() > 17e9 && f16.totalBytes() < 21e9, gb(f16.totalBytes()) + " GB");
        Map<String, Object> figures = new LinkedHashMap<>();
        for (MemoryEstimate e : List.of(f16, f16Short, f32)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("llmWeightsGB", gb(e.llmWeightBytes()));
            m.put("projectorGB", gb(e.projectorBytes()));
            m.put("visionTowerGB", gb(e.visionTowerBytes()));
            m.put("kvCacheGB", gb(e.kvCacheBytes()));
            m.put("workingGB", gb(e.workingBytes()));
            m.put("runtimeGB", gb(e.runtimeBytes()));
            m.put("totalGB", gb(e.totalBytes()));
            figures.put(e.format() + ", context " + e.contextTokens(), m);
        }
        new ReliabilityReport("memory-estimate").put("model", "ConvLLaVA-sft-1536 + ConvLLaVA-ConvNeXt-1536").put("figures", figures)
                .put("messageAt16GB", f16.check(16_000_000_000L).message()).write();
    }

    @Test
    void tooLittleRamIsReportedBeforeLoading() {
        MemoryEstimate f32 = real(WeightFormat.F32, 4096);
        MemoryEstimate.Check c = f32.check(16_000_000_000L);
        assertFalse(c.fits());
        assertTrue(c.message().startsWith("this model needs about " + MemoryEstimate.gb(f32.totalBytes()) + " of RAM (LLM weights 27.0 GB as F32"),
                c.message());
        assertTrue(c.message().contains("but only 16.0 GB is available; close other programs or use a smaller model; F16 weights"
                + " would need about"), c.message());
        assertFalse(c.message().contains("\n"));
        assertTrue(real(WeightFormat.F16, 4096).check(64_000_000_000L).fits());
        assertTrue(real(WeightFormat.F16, 4096).check(-1).message().endsWith("free memory is unknown on this system"));
        assertThrows(IllegalArgumentException.class, () -> real(WeightFormat.F16, 5000));
    }

    @Test
    void memAvailableIsReadFromProcMeminfo() {
        assertEquals(21_474_836_480L, MemoryEstimate.parseMemAvailable(List.of("MemTotal:       24000000 kB",
                "MemFree:        1000 kB", "MemAvailable:   20971520 kB", "Buffers: 0 kB")));
        assertEquals(-1, MemoryEstimate.parseMemAvailable(List.of("MemTotal: 1 kB")));
        if (java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/meminfo"))) {
            assertTrue(MemoryEstimate.availableBytes() > 0);
            System.out.println("[report] this machine: " + real(WeightFormat.F16, 4096).check().message());
        }
    }
}
