package ai.convllava.model.engine;

import ai.convllava.model.api.MemoryPlan;
import ai.convllava.model.api.QuantizedWeightFiles.Availability;
import ai.convllava.model.api.TowerMemory;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.config.StandardModels;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which weight format {@code auto} picks for ConvLLaVA-1536 on machines of different sizes, and why the others do not fit. */
class MemoryPlanTest {
    private static final long GB = 1_000_000_000L;
    private static final Function<WeightFormat, Availability> NO_FILES = f -> Availability.NONE;

    private static MemoryPlan plan(long available, long maxHeap, Function<WeightFormat, Availability> files) {
        return ModelLoader.plan(StandardModels.convLlava(1536), StandardModels.tower(1536), 1536, TowerMemory.AUTO, files,
                available, maxHeap);
    }

    @Test
    void eachFormatNeedsLessThanTheLastAndTheQuantizedOnesLiveOnTheHeap() {
        MemoryPlan p = plan(64 * GB, 64 * GB, NO_FILES);
        assertEquals(List.of(WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_K), p.options().stream().map(MemoryPlan.Option::format).toList(),
                "no float32 for a 7B model");
        long f16 = p.option(WeightFormat.F16).neededBytes();
        long q8 = p.option(WeightFormat.Q8_0).neededBytes();
        long q4 = p.option(WeightFormat.Q4_K).neededBytes();
        assertTrue(f16 > q8 && q8 > q4, p.describe());
        // the LLM's 6.5 G weights: 2 bytes each in f16, 34/32 in Q8_0 and 148/256 in Q4_K
        assertEquals((2 - 34.0 / 32) * 6.5, (f16 - q8) / 1e9, 1.0, p.describe());
        assertTrue(q4 < 8 * GB, "4-bit ConvLLaVA-1536 fits an 8 GB laptop: " + p.describe());
        assertTrue(p.describe().startsWith("f16 ") && p.describe().contains("8-bit") && p.describe().contains("4-bit"), p.describe());
    }

    @Test
    void autoTakesTheMostAccurateFormatThatFits() {
        MemoryPlan big = plan(64 * GB, 40 * GB, NO_FILES);
        assertEquals(WeightFormat.F16, big.auto(), big.describe());
        long q8 = big.option(WeightFormat.Q8_0).neededBytes();
        long q4 = big.option(WeightFormat.Q4_K).neededBytes();

        MemoryPlan mid = plan(q8 + GB / 10, 40 * GB, NO_FILES);
        assertEquals(WeightFormat.Q8_0, mid.auto(), mid.describe());
        assertFalse(mid.option(WeightFormat.F16).fits());
        assertTrue(mid.option(WeightFormat.F16).problem().contains("4-bit"), "the message names the way out: " + mid.option(WeightFormat.F16).problem());

        MemoryPlan small = plan(q4 + GB / 10, 40 * GB, NO_FILES);
        assertEquals(WeightFormat.Q4_K, small.auto(), small.describe());
        assertTrue(small.option(WeightFormat.Q4_K).fits());
        assertNull(small.option(WeightFormat.Q4_K).problem());
    }

    @Test
    void aMadeEightBitFileIsPreferredOverFloat16() {
        MemoryPlan p = plan(64 * GB, 40 * GB, f -> f == WeightFormat.Q8_0 ? Availability.READY : Availability.NONE);
        assertEquals(WeightFormat.Q8_0, p.auto(), "loads in a fraction of the time and reads half the bytes per token");
        assertEquals(Availability.READY, p.option(WeightFormat.Q8_0).file());
        assertEquals(Availability.NONE, p.option(WeightFormat.F16).file());
    }

    @Test
    void tooLittleMemoryForAnyFormatStillNamesTheSmallestAndWhy() {
        MemoryPlan p = plan(2 * GB, 40 * GB, NO_FILES);
        assertEquals(WeightFormat.Q4_K, p.auto());
        MemoryPlan.Option q4 = p.option(WeightFormat.Q4_K);
        assertFalse(q4.fits());
        assertNotNull(q4.problem());
        assertTrue(q4.problem().contains("2.0 GB") || q4.problem().contains("2 GB"), q4.problem());
        assertTrue(p.options().stream().noneMatch(MemoryPlan.Option::fits));
    }

    @Test
    void aSmallJavaHeapRulesOutTheQuantizedFormatsWithTheXmxToUse() {
        MemoryPlan p = plan(64 * GB, 2 * GB, NO_FILES);
        assertEquals(WeightFormat.F16, p.auto(), "f16 weights are libtorch's, outside the heap");
        MemoryPlan.Option q4 = p.option(WeightFormat.Q4_K);
        assertFalse(q4.fits());
        assertTrue(q4.problem().contains("-Xmx"), q4.problem());
    }

    @Test
    void unknownFreeMemoryFitsEverything() {
        MemoryPlan p = plan(-1, 40 * GB, NO_FILES);
        assertTrue(p.options().stream().allMatch(MemoryPlan.Option::fits));
        assertEquals(WeightFormat.F16, p.auto());
    }
}
