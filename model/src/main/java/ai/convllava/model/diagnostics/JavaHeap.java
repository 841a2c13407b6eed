package ai.convllava.model.diagnostics;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;

/**
 * Shrinks the Java heap to what a loaded model holds. 8-bit and 4-bit weights live on the Java heap, and
 * the collector (serial in the launchers, G1 elsewhere by default) sizes it after a full collection to keep
 * {@code MinHeapFreeRatio} (10% in the launchers) free, about
 * 0.45 GB beside 4-bit ConvLLaVA-1536's weights, all of it resident once used. A conversation allocates
 * little that lives, and the launchers cap the young generation ({@code MaxNewSize}), so after the load the
 * margin is lowered to what holds the young generation, at least {@value #MIN_FREE}-{@value #MAX_FREE}%,
 * before the load's last collection. During the load the margins stay as they were: that is when the heap
 * grows, and a tight margin then costs collections. Where the young generation is not capped (a JVM not
 * started by the launchers, the tests') nothing changes: G1 would grow the heap again for its young
 * generation. Both ratios are manageable flags (settable in a running JVM); a lower one given is kept. The
 * launchers also start the JVM with {@code -XX:-ShrinkHeapInSteps}: otherwise the serial collector gives the
 * excess back over four full collections (none at the first), and the load's last collection left it committed
 * and resident.
 */
public final class JavaHeap {
    private static final Logger LOG = LoggerFactory.getLogger(JavaHeap.class);
    static final int MIN_FREE = 2;
    static final int MAX_FREE = 3;

    private JavaHeap() {
    }

    /**
     * A full collection before a big step (a vision encode, an image's prompt), only where the launchers run the serial
     * collector with a capped young generation. Arrays that were alive at a young collection (an image's pixels, a
     * prompt's activations) are promoted to the old generation, which the serial collector grows and fills, and does
     * not empty until a full collection. So a conversation's garbage stayed committed, and resident, beside the
     * weights, by an amount that moved from run to run (docs/bench/quant.md). A full collection of a heap that is mostly
     * large arrays without references takes milliseconds, and then the heap shrinks to its margin
     * ({@link #shrinkAfterLoad}). Other JVMs (the tests' G1) are left alone: there a full collection costs more, and
     * the young generation is not capped.
     */
    public static void collectBefore(String what) {
        if (SERIAL_WITH_CAPPED_YOUNG) {
            long t0 = System.nanoTime();
            System.gc();
            LOG.debug("full collection before {}: {} ms", what, (System.nanoTime() - t0) / 1_000_000);
        }
    }

    /** Whether the launchers' collector runs: the serial one, with the young generation capped on the command line. */
    static final boolean SERIAL_WITH_CAPPED_YOUNG = serialWithCappedYoung();

    private static boolean serialWithCappedYoung() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return cappedByLaunchers(vm.getVMOption("MaxNewSize")) && Boolean.parseBoolean(vm.getVMOption("UseSerialGC").getValue());
        } catch (IllegalArgumentException | SecurityException | NullPointerException e) {
            return false; // not HotSpot
        }
    }

    /** Whether the young generation's cap was set by the launchers (command line or cfg file), not by the JVM's ergonomics. */
    private static boolean cappedByLaunchers(VMOption maxNewSize) {
        return maxNewSize.getOrigin() != VMOption.Origin.DEFAULT && maxNewSize.getOrigin() != VMOption.Origin.ERGONOMIC;
    }

    /** Collects; where the young generation is capped, first lowers the heap's free margins for the rest of the session. */
    public static void shrinkAfterLoad() {
        try {
            HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            VMOption young = vm.getVMOption("MaxNewSize");
            if (!cappedByLaunchers(young)) {
                LOG.debug("Java heap margins left as they are: the young generation is not capped");
            } else {
                System.gc(); // what the model holds
                long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
                int[] m = margins(used, Long.parseLong(young.getValue()));
                int min = Integer.parseInt(vm.getVMOption("MinHeapFreeRatio").getValue());
                int max = Integer.parseInt(vm.getVMOption("MaxHeapFreeRatio").getValue());
                // the minimum first: the JVM refuses a maximum below the minimum in force
                if (min > m[0]) {
                    vm.setVMOption("MinHeapFreeRatio", Integer.toString(m[0]));
                }
                if (max > m[1]) {
                    vm.setVMOption("MaxHeapFreeRatio", Integer.toString(m[1]));
                }
                LOG.debug("Java heap free margins after loading: {}-{}% (were {}-{}%)", Math.min(min, m[0]), Math.min(max, m[1]), min, max);
            }
        } catch (IllegalArgumentException | SecurityException | NullPointerException e) {
            LOG.debug("Java heap margins left as they are: {}", e.toString()); // not HotSpot, or flags not manageable here
        }
        System.gc();
    }

    /**
     * The free margins, {min, max} percent, for a heap holding {@code used} bytes beside a young generation of at most
     * {@code young}: the maximum leaves room for that young generation, and is never below {@value #MAX_FREE}%.
     */
    static int[] margins(long used, long young) {
        int max = (int) Math.min(70, Math.max(MAX_FREE, Math.ceil(100.0 * young / (used + young))));
        return new int[] {Math.max(1, max - (MAX_FREE - MIN_FREE)), max};
    }
}
