package ai.convllava.bench;

import ai.convllava.model.diagnostics.MachineProbe;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The memory of each phase of the scripted conversation: its exact peak resident set (VmHWM, reset
 * when the phase starts) and, sampled while it runs, the largest glibc heap and Java heap seen. Issue
 * 19's target is a conversation's peak; which phase makes it, and whether C or Java memory, decides
 * what has to shrink.
 */
final class PhaseMemory {
    /** How often the C and Java heaps are sampled while a phase runs (smaps is read whole each time). */
    private static final long SAMPLE_MS = 100;

    /**
     * @param peakRssBytes        VmHWM over the phase (exact)
     * @param cHeapBytes          the largest glibc heap resident while it ran (sampled)
     * @param javaCommittedBytes  the largest Java heap committed (sampled)
     * @param javaUsedBytes       the largest Java heap used (sampled; includes garbage not yet collected)
     */
    record Peak(String phase, long peakRssBytes, long cHeapBytes, long javaCommittedBytes, long javaUsedBytes) {
    }

    private final List<Peak> peaks = new ArrayList<>();

    <T> T measure(String phase, Supplier<T> work) {
        MemoryMXBean heap = ManagementFactory.getMemoryMXBean();
        long[] max = new long[3]; // C heap, Java committed, Java used
        Runnable sample = () -> {
            long c = MachineProbe.cHeapRssBytes();
            var h = heap.getHeapMemoryUsage();
            synchronized (max) {
                max[0] = Math.max(max[0], c);
                max[1] = Math.max(max[1], h.getCommitted());
                max[2] = Math.max(max[2], h.getUsed());
            }
        };
        MachineProbe.resetPeakRss();
        sample.run();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(SAMPLE_MS);
                } catch (InterruptedException e) {
                    return;
                }
                sample.run();
            }
        }, "bench-memory-sampler");
        sampler.setDaemon(true);
        sampler.start();
        try {
            return work.get();
        } finally {
            sampler.interrupt();
            try {
                sampler.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            sample.run();
            synchronized (max) {
                peaks.add(new Peak(phase, MachineProbe.peakRssBytes(), max[0], max[1], max[2]));
            }
        }
    }

    List<Peak> peaks() {
        return List.copyOf(peaks);
    }

    /** The largest phase peak: the conversation's. */
    long conversationPeak() {
        return peaks.stream().mapToLong(Peak::peakRssBytes).max().orElse(-1);
    }
}
