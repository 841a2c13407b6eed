package ai.convllava.model.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the NVIDIA driver says about this machine's GPUs, from {@code nvidia-smi} (installed with the
 * driver on Linux and Windows): names, memory, the driver's version and the newest CUDA it supports.
 * Read without loading any CUDA library into this JVM, so it is safe before libtorch is chosen and on
 * machines without a driver ({@link #none}).
 *
 * @param present      nvidia-smi ran
 * @param driver       driver version, e.g. 550.54.14, or null
 * @param cuda         the newest CUDA version the driver supports, e.g. 12.4, or null
 * @param gpus         the GPUs it lists
 * @param absentReason why there is no report (no nvidia-smi, it failed), when not present
 */
public record NvidiaDriver(boolean present, String driver, String cuda, List<Gpu> gpus, String absentReason) {
    /** One GPU: memory in MiB as nvidia-smi reports it. */
    public record Gpu(int index, String name, long totalMiB, long freeMiB) {
        public String describe() {
            return String.format("%s, %.1f GiB (%.1f GiB free)", name, totalMiB / 1024.0, freeMiB / 1024.0);
        }

        public long freeBytes() {
            return freeMiB << 20;
        }
    }

    private static final Pattern CUDA_IN_HEADER = Pattern.compile("CUDA Version:\\s*(\\d+\\.\\d+)");
    private static final Pattern PROC_VERSION = Pattern.compile("Kernel Module(?: for [^ ]+)?\\s+(\\d+\\.\\d+(?:\\.\\d+)?)");

    public static NvidiaDriver none(String reason) {
        return new NvidiaDriver(false, null, null, List.of(), reason);
    }

    /** Asks nvidia-smi (at most a few seconds); {@link #none} when it is missing or fails. */
    public static NvidiaDriver query() {
        Optional<String> list = run("nvidia-smi", "--query-gpu=index,name,memory.total,memory.free,driver_version", "--format=csv,noheader,nounits");
        if (list.isEmpty()) {
            String proc = readProcVersion();
            return none(proc != null ? "the NVIDIA kernel module " + proc + " is loaded but nvidia-smi does not run"
                    : "no NVIDIA driver found (nvidia-smi is not installed or not on the PATH)");
        }
        String header = run("nvidia-smi").orElse("");
        return parse(list.get(), header);
    }

    /**
     * From nvidia-smi's CSV (index, name, memory.total, memory.free, driver_version; no header, no units)
     * and its plain output's header line ({@code ... Driver Version: 550.54.14  CUDA Version: 12.4}).
     */
    static NvidiaDriver parse(String csv, String header) {
        List<Gpu> gpus = new ArrayList<>();
        String driver = null;
        for (String line : csv.split("\\R")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",");
            if (f.length < 5) {
                continue;
            }
            try {
                // a name may itself hold commas: the fields around it are fixed
                int n = f.length;
                String name = String.join(",", List.of(f).subList(1, n - 3)).strip();
                gpus.add(new Gpu(Integer.parseInt(f[0].strip()), name, Long.parseLong(f[n - 3].strip()), Long.parseLong(f[n - 2].strip())));
                driver = f[n - 1].strip();
            } catch (NumberFormatException e) {
                // "[N/A]" or "[Not Supported]" fields: leave that GPU out rather than guess its memory
            }
        }
        Matcher m = CUDA_IN_HEADER.matcher(header);
        String cuda = m.find() ? m.group(1) : null;
        if (gpus.isEmpty()) {
            return new NvidiaDriver(true, driver, cuda, List.of(), "nvidia-smi lists no GPU");
        }
        return new NvidiaDriver(true, driver, cuda, List.copyOf(gpus), null);
    }

    /** Driver version from {@code /proc/driver/nvidia/version} (Linux), or null. */
    static String readProcVersion() {
        Path p = Path.of("/proc/driver/nvidia/version");
        try {
            if (Files.isReadable(p)) {
                Matcher m = PROC_VERSION.matcher(Files.readString(p));
                return m.find() ? m.group(1) : "(unknown version)";
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    /** One line for diagnostics. */
    public String describe() {
        if (!present || gpus.isEmpty()) {
            return absentReason;
        }
        StringBuilder b = new StringBuilder();
        for (Gpu g : gpus) {
            b.append(b.isEmpty() ? "" : "; ").append("GPU ").append(g.index()).append(": ").append(g.describe());
        }
        return b + "; driver " + driver + (cuda != null ? ", supports CUDA up to " + cuda : "");
    }

    private static Optional<String> run(String... cmd) {
        Path out = null;
        try {
            // output to a file, so that a hung nvidia-smi (a wedged driver) cannot block a read: the wait times out
            out = Files.createTempFile("convllava-nvidia-smi", ".txt");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.empty();
            }
            return p.exitValue() == 0 ? Optional.of(Files.readString(out, StandardCharsets.UTF_8)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
    }
}
