package ai.convllava.bench;

import ai.convllava.model.diagnostics.CudaDevices;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --device}: the device path measured on the CPU device prints the same table (with the decode rate
 * with attention recorded) and names the path; {@code --device gpu} without a GPU is one line and exit code 3.
 */
class BenchDeviceTest {
    @Test
    void theDevicePathOnTheCpuPrintsTheSameTableAndNamesThePath() {
        List<String> log = new ArrayList<>();
        BenchReport r = BenchRunner.run(BenchRunnerTest.tiny(2).withDevicePathOnCpu(true), log::add);
        JsonNode j = r.json();
        for (String f : BenchRunnerTest.REQUIRED) {
            assertTrue(j.has(f), "missing " + f + " in " + j);
        }
        assertTrue(j.path("device").asText().contains("device path, float16"), j.path("device").asText());
        assertEquals("f16", j.path("weight_format").asText());
        assertTrue(j.path("decode_tokens_per_s").asDouble() > 0);
        assertTrue(j.path("decode_tokens_per_s_attention").asDouble() > 0);
        assertTrue(r.table().contains("with attention recorded"), r.table());
        assertTrue(r.table().contains("device path, float16"), r.table());
    }

    @Test
    void gpuWithoutAGpuIsOneLineAndExitCode3() {
        String reason = CudaDevices.absentReason().orElse(null);
        assumeTrue(reason != null, "a GPU is present: --device gpu runs instead of refusing");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new BenchCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("--device", "gpu", "--no-machine");
        String text = err.toString().strip();
        assertEquals(3, code, text);
        assertEquals(1, text.lines().count(), "one line, no stack trace: " + text);
        assertTrue(text.startsWith("error: --device gpu: no CUDA device: the CPU: "), text);
        assertFalse(text.contains("Exception"), text);
        assertEquals("", out.toString());
    }
}
