package ai.convllava.model.diagnostics;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class NativeHeapTest {

    /** On Linux with glibc (CI's Debian) the JDK's trim runs and reports what it gave back. */
    @Test
    void trimsTheCHeapOnLinuxWithGlibc() {
        assumeTrue(glibc(), "not Linux with glibc: the trim is a no-op there");
        Optional<String> report = NativeHeap.trim();
        assertTrue(report.isPresent(), "JDK " + Runtime.version() + " should offer System.trim_native_heap (17.0.9+)");
        assertTrue(report.get().contains("RSS"), report.get());
    }

    /**
     * Under the engine's malloc tunables (surefire sets them as the launcher does) a freed tensor stays
     * resident until the trim gives it back; after the reset the peak starts from there again.
     */
    @Test
    void trimGivesBackAFreedTensorAndThePeakStartsAgainAfterAReset() {
        assumeTrue(glibc() && Files.exists(Path.of("/proc/self/clear_refs")), "not Linux with glibc");
        long bytes = 256L << 20;
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray big = m.ones(new Shape(bytes / 4), DataType.FLOAT32); // written, so resident
            assertEquals(1f, big.getFloat(0));
            big.close();
        }
        long earlierPeak = MachineProbe.peakRssBytes();
        assertTrue(NativeHeap.trim().isPresent());
        long rss = MachineProbe.rssBytes();
        assertTrue(earlierPeak - rss > bytes / 2, "the freed tensor is still resident after the trim: peak " + earlierPeak + ", now " + rss);
        assertTrue(MachineProbe.resetPeakRss());
        long after = MachineProbe.peakRssBytes();
        // the reset sets the peak to the resident set of that moment; a little may be touched in between
        assertTrue(after <= rss + (32L << 20), "peak " + after + " after the reset should restart from the resident set " + rss
                + ", not stay at " + earlierPeak);
    }

    private static boolean glibc() {
        try {
            return Files.readString(Path.of("/proc/self/maps")).contains("libc.so.6");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
