package ai.convllava.bench;

import ai.convllava.model.diagnostics.MachineProbe;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs {@code tests/bench/pytorch_bench.py} (plain {@code torch.nn}, eager float32, the same shapes
 * and token counts) as a subprocess and parses the one JSON line it prints. Its stderr (progress)
 * is passed to {@code log}.
 */
public final class PytorchReference {
    private PytorchReference() {
    }

    public static List<String> command(Path python, Path script, BenchReport ours) {
        BenchRunner.Measurements m = ours.measurements();
        List<String> cmd = new ArrayList<>();
        cmd.add(python.toString());
        cmd.add(script.toString());
        cmd.add("--model-size");
        cmd.add(String.valueOf(m.model().canvas()));
        cmd.add("--layers");
        cmd.add(String.valueOf(m.main().layers()));
        cmd.add("--prefill-tokens");
        cmd.add(String.valueOf(m.main().prefillTokens()));
        cmd.add("--threads");
        cmd.add(String.valueOf(MachineProbe.intraOpThreads()));
        cmd.add("--seed");
        cmd.add(String.valueOf(m.options().seed()));
        return cmd;
    }

    public static JsonNode run(Path python, Path script, BenchReport ours, Consumer<String> log) throws IOException, InterruptedException {
        if (!Files.isRegularFile(script)) {
            throw new IOException("the PyTorch reference script " + script.toAbsolutePath() + " does not exist; run from the"
                    + " repository root or pass --pytorch-script");
        }
        List<String> cmd = command(python, script, ours);
        log.accept("running " + String.join(" ", cmd));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        Thread err = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    log.accept("  [pytorch] " + line);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        }, "pytorch-stderr");
        err.setDaemon(true);
        err.start();
        String last = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.trim().startsWith("{")) {
                    last = line.trim();
                }
            }
        }
        int code = p.waitFor();
        err.join(2000);
        if (code != 0 || last == null) {
            throw new IOException("the PyTorch reference failed (exit code " + code + ")" + (last == null ? ", no JSON line" : "")
                    + "; is torch installed for " + python + "? (apt-get install -y python3-torch)");
        }
        return new ObjectMapper().readTree(last);
    }
}
