package ai.convllava.model.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** nvidia-smi's output as the driver prints it (captured from driver 550 and 470 machines' documented formats). */
class NvidiaDriverTest {
    static final String HEADER_550 = """
            Thu Dec  3 10:00:00 2026
            +-----------------------------------------------------------------------------------------+
            | NVIDIA-SMI 550.54.14              Driver Version: 550.54.14      CUDA Version: 12.4     |
            |-----------------------------------------+------------------------+----------------------+
            """;

    @Test
    void readsNamesMemoryDriverAndCudaVersion() {
        NvidiaDriver d = NvidiaDriver.parse("0, NVIDIA GeForce RTX 3060, 12288, 11904, 550.54.14\n1, Tesla T4, 15360, 15100, 550.54.14\n", HEADER_550);
        assertTrue(d.present());
        assertEquals("550.54.14", d.driver());
        assertEquals("12.4", d.cuda());
        assertEquals(2, d.gpus().size());
        assertEquals("NVIDIA GeForce RTX 3060", d.gpus().get(0).name());
        assertEquals(12288, d.gpus().get(0).totalMiB());
        assertEquals(11904L << 20, d.gpus().get(0).freeBytes());
        assertEquals(1, d.gpus().get(1).index());
        assertTrue(d.describe().contains("GPU 0: NVIDIA GeForce RTX 3060, 12.0 GiB (11.6 GiB free)"), d.describe());
        assertTrue(d.describe().endsWith("driver 550.54.14, supports CUDA up to 12.4"), d.describe());
    }

    @Test
    void aNameWithCommasAndUnsupportedFieldsAreHandled() {
        NvidiaDriver d = NvidiaDriver.parse("0, Quadro RTX 5000, with Max-Q Design, 16384, 16000, 535.1\n1, Some GPU, [N/A], [N/A], 535.1\n", "");
        assertEquals(1, d.gpus().size(), "the GPU without memory figures is left out, not guessed");
        assertEquals("Quadro RTX 5000, with Max-Q Design", d.gpus().get(0).name());
        assertNull(d.cuda(), "no header, no CUDA version");
    }

    @Test
    void noGpuListedIsSaid() {
        NvidiaDriver d = NvidiaDriver.parse("", HEADER_550);
        assertTrue(d.present());
        assertTrue(d.gpus().isEmpty());
        assertEquals("nvidia-smi lists no GPU", d.describe());
    }

    @Test
    void onThisMachineTheQueryAnswersWithoutThrowing() {
        NvidiaDriver d = NvidiaDriver.query();
        if (!d.present()) {
            assertFalse(d.absentReason().isBlank());
            assertTrue(d.gpus().isEmpty());
        }
    }
}
