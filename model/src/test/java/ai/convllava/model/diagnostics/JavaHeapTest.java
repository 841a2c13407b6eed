package ai.convllava.model.diagnostics;

import com.sun.management.HotSpotDiagnosticMXBean;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** After a load, G1 keeps at most a 3-5% margin free; a margin given lower is kept, never raised. */
class JavaHeapTest {
    private static int flag(HotSpotDiagnosticMXBean vm, String name) {
        return Integer.parseInt(vm.getVMOption(name).getValue());
    }

    @Test
    void theMarginsComeDownAndStayDown() {
        HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        int min = flag(vm, "MinHeapFreeRatio");
        int max = flag(vm, "MaxHeapFreeRatio");
        try {
            JavaHeap.shrinkAfterLoad();
            assertEquals(Math.min(min, JavaHeap.MIN_FREE), flag(vm, "MinHeapFreeRatio"));
            assertEquals(Math.min(max, JavaHeap.MAX_FREE), flag(vm, "MaxHeapFreeRatio"));
            vm.setVMOption("MinHeapFreeRatio", "1"); // the minimum first: never above the maximum
            vm.setVMOption("MaxHeapFreeRatio", "2");
            JavaHeap.shrinkAfterLoad();
            assertEquals(1, flag(vm, "MinHeapFreeRatio"), "a lower minimum is kept");
            assertEquals(2, flag(vm, "MaxHeapFreeRatio"), "a lower maximum is kept");
            assertTrue(flag(vm, "MinHeapFreeRatio") <= flag(vm, "MaxHeapFreeRatio"));
        } finally { // this test JVM runs other tests after: the margins it started with, the maximum first
            vm.setVMOption("MaxHeapFreeRatio", Integer.toString(max));
            vm.setVMOption("MinHeapFreeRatio", Integer.toString(min));
        }
    }
}
