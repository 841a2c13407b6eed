package ai.convllava.model.diagnostics;

import com.sun.management.HotSpotDiagnosticMXBean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;

/**
 * Shrinks the Java heap to what a loaded model holds. 8-bit and 4-bit weights live on the Java heap, and
 * G1 sizes it after a full collection to keep {@code MinHeapFreeRatio} (10% in the launchers) free, about
 * 0.45 GB beside 4-bit ConvLLaVA-1536's weights, all of it resident once used. A conversation allocates
 * little that lives (the young generation is capped at 64 MB by the launchers), so after the load the
 * margins are lowered to {@value #MIN_FREE}-{@value #MAX_FREE}% before the load's last collection. During
 * the load they stay as they were: that is when the heap grows, and a tight margin then costs collections.
 * Both flags are manageable (settable in a running JVM); a value given lower on the command line is kept.
 */
public final class JavaHeap {
    private static final Logger LOG = LoggerFactory.getLogger(JavaHeap.class);
    static final int MIN_FREE = 2;
    static final int MAX_FREE = 3;

    private JavaHeap() {
    }

    /** Lowers G1's free-space margins for the rest of the session, then collects (the heap shrinks to fit). */
    public static void shrinkAfterLoad() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            int min = Integer.parseInt(vm.getVMOption("MinHeapFreeRatio").getValue());
            int max = Integer.parseInt(vm.getVMOption("MaxHeapFreeRatio").getValue());
            // the minimum first: the JVM refuses a maximum below the minimum in force
            if (min > MIN_FREE) {
                vm.setVMOption("MinHeapFreeRatio", Integer.toString(MIN_FREE));
            }
            if (max > MAX_FREE) {
                vm.setVMOption("MaxHeapFreeRatio", Integer.toString(MAX_FREE));
            }
            LOG.debug("Java heap free margins after loading: {}-{}% (were {}-{}%)", Math.min(min, MIN_FREE), Math.min(max, MAX_FREE), min, max);
        } catch (IllegalArgumentException | SecurityException | NullPointerException e) {
            LOG.debug("Java heap margins left as they are: {}", e.toString()); // not HotSpot, or flags not manageable here
        }
        System.gc();
    }
}
