package ai.convllava.model.diagnostics;

import ai.convllava.model.api.MachineSpeed;
import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the machine can do, measured the way the engine uses it: memory bandwidth from an in-place
 * add of two large preallocated PyTorch tensors ({@code dst += src}, STREAM's "add" counting: two
 * arrays read plus one written per second, PyTorch's own threads) and, for reads alone (a decode
 * step only reads its weights), from a sum over one of them, float32 GEMM throughput from DJL {@code matMul}, and the process's peak
 * resident set from {@code /proc/self/status}.
 */
public final class MachineProbe {
    private static final java.util.regex.Pattern MAPPING = java.util.regex.Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    private MachineProbe() {
    }

    /**
     * @param memoryBandwidthGbs     in-place add: (2 reads + 1 write) / time
     * @param memoryReadBandwidthGbs a sum over one array: reads only, what a decode step does with its weights
     */
    public record Machine(double memoryBandwidthGbs, double memoryReadBandwidthGbs, long copyBytes, double gemmGflops, int gemmSize, int cores, int threads,
                          int interopThreads, String cpuModel, long memTotalBytes, String javaVersion, String pytorchVersion) {
    }

    /** Streams two arrays of {@code bytes} each (see the class comment) and a {@code n x n} float32 GEMM, best of {@code runs}. */
    public static Machine measure(long bytes, int n, int runs) {
        double bw;
        double readBw;
        double gflops;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            long elems = bytes / 4;
            try (NDArray src = m.ones(new Shape(elems), DataType.FLOAT32); NDArray dst = m.zeros(new Shape(elems), DataType.FLOAT32)) {
                bw = 3.0 * elems * 4 / bestSeconds(runs, () -> {
                    dst.addi(src); // in place: reads both, writes one, nothing allocated
                    dst.getFloat(0); // synchronise
                }) / 1e9;
                readBw = readBandwidthGbs(src, runs);
            }
            gflops = gemmGflops(m, n, runs);
        }
        return new Machine(bw, readBw, bytes, gflops, n, Runtime.getRuntime().availableProcessors(), intraOpThreads(), interopThreads(),
                cpuModel(), memTotalBytes(), System.getProperty("java.vm.name") + " " + Runtime.version(),
                Engine.getInstance().getVersion());
    }

    /**
     * Only what {@link MachineSpeed} uses: read bandwidth over one array of {@code bytes} and the
     * {@code n x n} GEMM rate, best of {@code runs} (no second array, no in-place add).
     */
    public static MachineSpeed speed(long bytes, int n, int runs) {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            double readBw;
            try (NDArray src = m.ones(new Shape(bytes / 4), DataType.FLOAT32)) {
                // untimed passes first: in measure() the in-place adds warm the pages and PyTorch's threads;
                // without them the timed reads come out low
                readBandwidthGbs(src, 2);
                readBw = readBandwidthGbs(src, runs);
            }
            return new MachineSpeed(readBw, gemmGflops(m, n, runs));
        }
    }

    /** GB/s of a sum over {@code src}: reads the array once, PyTorch's vectorised reduction on its threads. */
    private static double readBandwidthGbs(NDArray src, int runs) {
        return src.getShape().size() * 4.0 / bestSeconds(runs, () -> {
            try (NDArray sum = src.sum()) {
                sum.getFloat();
            }
        }) / 1e9;
    }

    /** GFLOP/s of an {@code n x n} float32 matmul, after one warm-up (allocation, kernel choice). */
    private static double gemmGflops(NDManager m, int n, int runs) {
        try (NDArray a = m.randomUniform(-1, 1, new Shape(n, n)); NDArray b = m.randomUniform(-1, 1, new Shape(n, n))) {
            a.matMul(b).close();
            return 2.0 * n * n * (double) n / bestSeconds(runs, () -> {
                try (NDArray c = a.matMul(b)) {
                    c.getFloat(0, 0); // synchronise
                }
            }) / 1e9;
        }
    }

    /** The shortest of {@code runs} timings of {@code work}, in seconds. */
    private static double bestSeconds(int runs, Runnable work) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            work.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }

    /** PyTorch's intra-op thread count (torch.get_num_threads()), or the core count if unknown. */
    public static int intraOpThreads() {
        try {
            return JniUtils.getNumThreads();
        } catch (RuntimeException | LinkageError e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    static int interopThreads() {
        try {
            return JniUtils.getNumInteropThreads();
        } catch (RuntimeException | LinkageError e) {
            return -1;
        }
    }

    /** Peak resident set (VmHWM) of this process in bytes, or -1 where /proc is missing. */
    public static long peakRssBytes() {
        return statusKb("VmHWM:");
    }

    /**
     * Starts the peak resident set (VmHWM) again from the current one (Linux's {@code clear_refs} 5), so
     * a later {@link #peakRssBytes} measures what ran after this call alone, e.g. a conversation without
     * the load before it. Returns false where that is not possible (not Linux, a kernel before 4.0).
     */
    public static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Resident bytes of glibc's main heap (the {@code [heap]} mapping in /proc/self/smaps), or -1. Under the
     * engine's malloc tunables (one arena, no mmap for big blocks) every libtorch tensor and every direct
     * buffer lives there, so it is the C side of the process's memory.
     */
    public static long cHeapRssBytes() {
        try (var lines = Files.lines(Path.of("/proc/self/smaps"))) {
            boolean inHeap = false;
            for (String line : (Iterable<String>) lines::iterator) {
                if (MAPPING.matcher(line).lookingAt()) { // "55d0c3a00000-55d0c3a21000 rw-p ... [heap]": a mapping starts
                    inHeap = line.endsWith("[heap]");
                } else if (inHeap && line.startsWith("Rss:")) {
                    return Long.parseLong(line.substring(4).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    /** Current resident set (VmRSS) in bytes, or -1. */
    public static long rssBytes() {
        return statusKb("VmRSS:");
    }

    private static long statusKb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    /** The 1, 5 and 15 minute load averages (/proc/loadavg): other work on the machine skews every number. */
    public static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static String cpuModel() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            for (String l : lines) {
                if (l.startsWith("model name")) {
                    return l.substring(l.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    static long memTotalBytes() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemTotal:")) {
                    return Long.parseLong(l.substring(9).trim().split("\\s+")[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }
}
