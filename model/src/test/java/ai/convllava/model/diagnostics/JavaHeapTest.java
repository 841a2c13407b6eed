package ai.convllava.model.diagnostics;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * After a load G1 keeps a margin that just holds the young generation (at least 2-3%), only where the young
 * generation is capped; a JVM without a cap (this one) keeps its margins.
 */
class JavaHeapTest {
    @Test
    void theMarginHoldsTheYoungGeneration() {
        long gb = 1L << 30;
        assertArrayEquals(new int[] {2, 3}, JavaHeap.margins(4 * gb, 64L << 20), "4-bit ConvLLaVA-1536: 3% of 4 GB holds 64 MB");
        assertArrayEquals(new int[] {5, 6}, JavaHeap.margins(gb, 64L << 20), "1 GB: 64 MB is 6% of the heap");
        assertArrayEquals(new int[] {56, 57}, JavaHeap.margins(50L << 20, 64L << 20), "the tiny model: the young generation dominates");
        assertArrayEquals(new int[] {69, 70}, JavaHeap.margins(1L << 20, 64L << 20), "never above G1's default maximum");
    }

    @Test
    void withoutAYoungGenerationCapTheMarginsStay() {
        HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        String min = vm.getVMOption("MinHeapFreeRatio").getValue();
        String max = vm.getVMOption("MaxHeapFreeRatio").getValue();
        VMOption.Origin origin = vm.getVMOption("MaxNewSize").getOrigin();
        org.junit.jupiter.api.Assumptions.assumeTrue(origin == VMOption.Origin.DEFAULT || origin == VMOption.Origin.ERGONOMIC,
                "this JVM caps its young generation");
        JavaHeap.shrinkAfterLoad();
        assertEquals(min, vm.getVMOption("MinHeapFreeRatio").getValue());
        assertEquals(max, vm.getVMOption("MaxHeapFreeRatio").getValue());
    }

    /** Outside the launchers' serial collector with a capped young generation (this JVM), no full collection is asked for. */
    @Test
    void onlyTheLaunchersCollectorCollectsBeforeABigStep() {
        VMOption.Origin origin = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption("MaxNewSize").getOrigin();
        org.junit.jupiter.api.Assumptions.assumeTrue(origin == VMOption.Origin.DEFAULT || origin == VMOption.Origin.ERGONOMIC,
                "this JVM caps its young generation");
        assertFalse(JavaHeap.SERIAL_WITH_CAPPED_YOUNG);
    }
}
