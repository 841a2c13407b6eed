package ai.convllava.app.cli;

import ai.convllava.hub.DownloadException;
import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.hub.DownloadHandle;
import ai.convllava.hub.DownloadListener;
import ai.convllava.hub.DownloadProgress;
import ai.convllava.hub.DownloadResult;
import ai.convllava.hub.FileProgress;
import ai.convllava.hub.FileState;
import ai.convllava.hub.HubSettings;
import ai.convllava.hub.ModelManager;
import ai.convllava.hub.ModelStatus;
import ai.convllava.hub.ModelVariant;
import ai.convllava.hub.RemoveReport;
import ai.convllava.hub.VerifyReport;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import ai.convllava.model.api.MachineSpeed;
import ai.convllava.model.api.MemoryPlan;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.QuantizeReport;
import ai.convllava.model.api.QuantizedWeightFiles;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.WeightFormat;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * {@code convllava models list|download|verify|remove|path|quantize}: the ConvLLaVA sizes in the Hugging
 * Face cache ({@code $HF_HOME/hub} or {@code ~/.cache/huggingface/hub}), shared with Python tools, and
 * their 8-bit and 4-bit weights.
 */
@Command(name = "models", description = "List, download, verify, quantize and remove the ConvLLaVA models (Hugging Face cache).",
        subcommands = {ModelsCommand.ListCmd.class, ModelsCommand.DownloadCmd.class, ModelsCommand.VerifyCmd.class,
                       ModelsCommand.RemoveCmd.class, ModelsCommand.PathCmd.class, ModelsCommand.QuantizeCmd.class})
public final class ModelsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Where and from where: the cache folder, the endpoint; the token only from HF_TOKEN (never a flag, never printed). */
    static final class Hub {
        @Option(names = "--cache", paramLabel = "DIR", description = "hub cache folder (default: $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub)")
        Path cache;

        @Option(names = "--endpoint", paramLabel = "URL", description = "Hub or mirror (default: $HF_ENDPOINT or https://huggingface.co)")
        URI endpoint;

        @Option(names = "--verbose", description = "stack traces on errors")
        boolean verbose;

        ModelManager manager(int parallel, int retries) {
            HubSettings s = HubSettings.fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
            if (cache != null) {
                s = s.withCacheDir(cache);
            }
            if (endpoint != null) {
                s = s.withEndpoint(endpoint);
            }
            s = s.withParallelFiles(parallel);
            if (retries >= 0) {
                s = s.withRetries(retries, s.backoff(), s.maxBackoff());
            }
            return new ModelManager(s);
        }
    }

    /** Which model: a standard size, or any ConvLLaVA-compatible repo (and its tower repo). */
    static final class Which {
        @Parameters(index = "0", arity = "0..1", paramLabel = "SIZE", description = "768, 1024 or 1536")
        String size;

        @Option(names = "--repo", paramLabel = "ORG/NAME", description = "another ConvLLaVA-sft-style repository instead of a standard size")
        String repo;

        @Option(names = "--tower-repo", paramLabel = "ORG/NAME", description = "with --repo: its ConvLLaVA-ConvNeXt repository")
        String towerRepo;

        @Option(names = "--revision", paramLabel = "REV", defaultValue = "main", description = "branch, tag or commit (default: main)")
        String revision;

        ModelVariant variant() {
            if (repo != null) {
                return new ModelVariant(size != null ? size : repo, repo, towerRepo, revision, 0, 0, 0, 0, "");
            }
            if (size == null) {
                throw new IllegalArgumentException("which model? give a size (768, 1024 or 1536) or --repo ORG/NAME");
            }
            ModelVariant v = ModelVariant.standard(size);
            return revision.equals("main") ? v : new ModelVariant(v.id(), v.modelRepo(), v.towerRepo(), revision, v.downloadBytes(),
                    v.ramBytesCpu(), v.visualTokens(), v.canvas(), v.speedNote());
        }
    }

    abstract static class Sub implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Hub hub;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        PrintWriter err() {
            return spec.commandLine().getErr();
        }

        abstract int execute() throws Exception;

        @Override
        public Integer call() {
            try {
                return execute();
            } catch (ConvLlavaException | DownloadException | IllegalArgumentException e) {
                err().println("error: " + e.getMessage());
                if (hub.verbose) {
                    e.printStackTrace(err());
                }
                return 1;
            } catch (Exception e) {
                err().println("error: " + e);
                if (hub.verbose) {
                    e.printStackTrace(err());
                }
                return 1;
            }
        }
    }

    @Command(name = "list", description = "The sizes, what each costs, and which are installed.")
    static final class ListCmd extends Sub {
        @Option(names = "--json", description = "one JSON array")
        boolean json;

        @Option(names = "--measure", description = "measure this computer (a few seconds) and estimate each size's first answer and tokens/s on it")
        boolean measure;

        @Override
        int execute() {
            ModelManager mm = hub.manager(1, -1);
            List<ModelStatus> all = mm.list();
            MachineSpeed machine = measure ? MachineSpeed.measure() : null;
            if (json) {
                ObjectMapper om = new ObjectMapper();
                ArrayNode arr = om.createArrayNode();
                for (ModelStatus s : all) {
                    ObjectNode o = arr.addObject();
                    ModelVariant v = s.variant();
                    o.put("size", v.id());
                    o.put("model_repo", v.modelRepo());
                    o.put("tower_repo", v.towerRepo());
                    o.put("download_bytes", v.downloadBytes());
                    o.put("ram_bytes_cpu", v.ramBytesCpu());
                    MemoryPlan plan = plan(v);
                    if (plan != null) {
                        ObjectNode ram = o.putObject("ram_bytes_by_weights");
                        for (MemoryPlan.Option p : plan.options()) {
                            ram.put(p.format().optionName(), p.neededBytes());
                        }
                        o.put("auto_weights", plan.auto().optionName());
                    }
                    if (s.installed()) {
                        ObjectNode files = o.putObject("quantized_weights");
                        for (WeightFormat f : List.of(WeightFormat.Q8_0, WeightFormat.Q4_K)) {
                            QuantizedWeightFiles.Status st = QuantizedWeightFiles.status(s.modelSnapshot(), f);
                            files.put(f.optionName(), st.availability().name().toLowerCase(Locale.ROOT));
                        }
                    }
                    o.put("visual_tokens", v.visualTokens());
                    o.put("expected_speed", v.speedNote());
                    if (machine != null) {
                        MachineSpeed.Estimate e = machine.estimate(v.canvas(), v.visualTokens());
                        ObjectNode here = o.putObject("this_machine");
                        here.put("read_bandwidth_gbs", machine.readBandwidthGbs());
                        here.put("gemm_gflops", machine.gemmGflops());
                        here.put("first_answer_s_estimate", e.firstAnswerSeconds());
                        here.put("decode_tokens_per_s_estimate", e.decodeTokensPerSecond());
                        ObjectNode byWeights = here.putObject("decode_tokens_per_s_estimate_by_weights");
                        for (WeightFormat f : List.of(WeightFormat.F16, WeightFormat.Q8_0, WeightFormat.Q4_K)) {
                            byWeights.put(f.optionName(), machine.estimate(v.canvas(), v.visualTokens(), f).decodeTokensPerSecond());
                        }
                    }
                    o.put("state", s.state().name().toLowerCase(Locale.ROOT));
                    o.put("bytes_on_disk", s.bytesOnDisk());
                    o.put("partial_bytes", s.partialBytes());
                    o.put("model_path", s.modelSnapshot() == null ? null : s.modelSnapshot().toString());
                    o.put("tower_path", s.towerSnapshot() == null ? null : s.towerSnapshot().toString());
                }
                out().println(arr.toPrettyString());
                return 0;
            }
            out().println("cache: " + mm.cache().root());
            out().printf(Locale.ROOT, "%-5s %-7s %-9s %-26s %-15s %s%n", "SIZE", "TOKENS", "DOWNLOAD", "RAM(CPU) f16 / 8-bit / 4-bit", "STATE",
                    "PATH / EXPECTED SPEED");
            String auto = null;
            for (ModelStatus s : all) {
                ModelVariant v = s.variant();
                String state = switch (s.state()) {
                    case INSTALLED -> "installed";
                    case PARTIAL -> "partial " + gb(s.bytesOnDisk());
                    case NOT_INSTALLED -> "-";
                };
                MemoryPlan plan = plan(v);
                String ram = plan == null ? gb(v.ramBytesCpu()) : String.join(" / ", plan.options().stream()
                        .filter(p -> p.format() != WeightFormat.F32).map(p -> gb(p.neededBytes())).toList());
                if (plan != null && auto == null) {
                    auto = "auto loads " + MemoryPlan.label(plan.auto()) + " here (" + (plan.availableBytes() > 0 ? gb(plan.availableBytes())
                            + " available now" : "free memory unknown") + ")";
                }
                out().printf(Locale.ROOT, "%-5s %-7d %-9s %-26s %-15s %s%n", v.id(), v.visualTokens(), gb(v.downloadBytes()), ram,
                        state, s.installed() ? s.modelSnapshot() : v.speedNote());
                if (s.installed()) {
                    List<String> made = new ArrayList<>();
                    for (WeightFormat f : List.of(WeightFormat.Q8_0, WeightFormat.Q4_K)) {
                        made.add(MemoryPlan.label(f) + " " + switch (QuantizedWeightFiles.status(s.modelSnapshot(), f).availability()) {
                            case READY -> "made";
                            case NONE -> "not made (convllava models quantize " + v.id() + " --format " + f.optionName() + ")";
                            case UNUSABLE -> "unusable";
                        });
                    }
                    out().println("      " + String.join("; ", made));
                }
            }
            if (auto != null) {
                out().println(auto);
            }
            if (machine != null) {
                out().println("this computer: " + machine.describe() + " (measured now); estimates on the CPU:");
                for (ModelStatus s : all) {
                    ModelVariant v = s.variant();
                    MachineSpeed.Estimate e = machine.estimate(v.canvas(), v.visualTokens());
                    out().printf(Locale.ROOT, "%-5s %s; 8-bit ~%.1f, 4-bit ~%.1f tokens/s%n", v.id(), e.describe(),
                            machine.estimate(v.canvas(), v.visualTokens(), WeightFormat.Q8_0).decodeTokensPerSecond(),
                            machine.estimate(v.canvas(), v.visualTokens(), WeightFormat.Q4_K).decodeTokensPerSecond());
                }
            }
            return 0;
        }
    }

    /** The memory a standard size needs in each weight format here, or null for a size that is not one of the three. */
    static MemoryPlan plan(ModelVariant v) {
        try {
            return MemoryPlan.ofStandard(v.canvas());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Command(name = "download", description = "Download a size (the model and its vision tower) into the cache; resumes interrupted downloads.")
    static final class DownloadCmd extends Sub {
        @Mixin
        Which which;

        @Option(names = "--parallel", paramLabel = "N", defaultValue = "3", description = "files at once (default 3)")
        int parallel;

        @Option(names = "--retries", paramLabel = "N", defaultValue = "5", description = "retries per request after a network or server error")
        int retries;

        @Option(names = "--quiet", description = "no progress lines")
        boolean quiet;

        @Override
        int execute() throws InterruptedException {
            ModelManager mm = hub.manager(parallel, retries);
            ModelVariant v = which.variant();
            PrintWriter err = err();
            err.println("downloading " + String.join(" + ", v.repos()) + " from " + mm.settings().endpoint() + " into " + mm.cache().root());
            DownloadHandle h = mm.download(v, quiet ? DownloadListener.NONE : new ProgressPrinter(err));
            DownloadResult r;
            // on exit the partial data stays on disk for the next run to resume
            try (CancelOnExit ignored = new CancelOnExit("download-ctrl-c", h::cancel, h.result(), 5)) {
                r = h.await();
            }
            switch (r.status()) {
                case COMPLETED:
                    err.printf(Locale.ROOT, "done: %s downloaded, %s already there, %s%n", size(r.bytesDownloaded()), size(r.bytesReused()),
                            duration(r.elapsed()));
                    out().println(r.modelSnapshot());
                    return 0;
                case CANCELLED:
                    err.println("cancelled; run the same command again to resume");
                    return 130;
                default:
                    err.println("error: " + r.error().getMessage());
                    if (hub.verbose) {
                        r.error().printStackTrace(err);
                    }
                    return 1;
            }
        }
    }

    @Command(name = "verify", description = "Re-hash the installed files (sha256 / git hash); corrupt files are deleted so a download repairs them.")
    static final class VerifyCmd extends Sub {
        @Mixin
        Which which;

        @Option(names = "--online", description = "also compare with the Hub's file list (needs the network)")
        boolean online;

        @Override
        int execute() {
            ModelManager mm = hub.manager(1, -1);
            ModelVariant v = which.variant();
            VerifyReport r = mm.verify(v, online, DownloadListener.NONE);
            for (VerifyReport.FileCheck c : r.files()) {
                boolean problem = c.problem();
                out().printf(Locale.ROOT, "%-9s %s %s%s%n", c.status().name().toLowerCase(Locale.ROOT), c.repo(), c.file(),
                        problem || c.status() == VerifyReport.Status.UNCHECKED ? "  (" + c.detail() + ")" : "");
            }
            if (r.ok()) {
                out().println("ok: " + r.files().size() + " files");
                return 0;
            }
            err().println("error: " + r.problems() + " file(s) corrupt or missing; run `convllava models download " + v.id() + "` to repair");
            return 1;
        }
    }

    @Command(name = "remove", description = "Delete an installed size: its snapshots, the blobs only they use, partial downloads.")
    static final class RemoveCmd extends Sub {
        @Mixin
        Which which;

        @Override
        int execute() {
            ModelManager mm = hub.manager(1, -1);
            RemoveReport r = mm.remove(which.variant());
            if (r.deleted().isEmpty()) {
                out().println("nothing to remove for " + which.variant().id() + " in " + mm.cache().root());
                return 0;
            }
            out().println("removed " + which.variant().id() + ": freed " + size(r.bytesFreed()));
            return 0;
        }
    }

    @Command(name = "path", description = "Print the snapshot folder of an installed size (for ask --model).")
    static final class PathCmd extends Sub {
        @Mixin
        Which which;

        @Option(names = "--tower", description = "print the vision tower's folder instead")
        boolean tower;

        @Override
        int execute() {
            ModelManager mm = hub.manager(1, -1);
            ModelVariant v = which.variant();
            Path p = (tower ? mm.towerFolder(v) : mm.snapshotFolder(v)).orElse(null);
            if (p == null) {
                err().println("error: " + v.id() + " is not installed in " + mm.cache().root() + ": run `convllava models download " + v.id() + "`");
                return 1;
            }
            out().println(p);
            return 0;
        }
    }

    @Command(name = "quantize", description = {"Write a model's 8-bit (q8_0) or 4-bit (q4_k) weights once, beside it, so that",
            "`ask --weights q8_0|q4_k` and the app load them in seconds; reports each tensor's round-trip error.",
            "Ctrl+C cancels and leaves no file behind."})
    static final class QuantizeCmd extends Sub {
        @Parameters(index = "0", arity = "0..1", paramLabel = "SIZE", description = "an installed size: 768, 1024 or 1536")
        String size;

        @Option(names = "--model", paramLabel = "DIR", description = "a ConvLLaVA model folder instead of an installed size")
        Path model;

        @Option(names = "--format", required = true, paramLabel = "q8_0|q4_k",
                description = "q8_0: 8 bits (1.06 bytes a weight, off by about 0.5% RMS); q4_k: 4 bits (0.56 bytes a weight in the file, off by about 7% RMS)")
        String format;

        @Option(names = "--quiet", description = "no progress bar and no per-tensor lines")
        boolean quiet;

        @Override
        int execute() throws InterruptedException {
            WeightFormat f = WeightFormat.parseQuantized(format, "--format");
            Path dir = folder();
            PrintWriter err = err();
            QuantizedWeightFiles.Status before = QuantizedWeightFiles.status(dir, f);
            if (before.availability() == QuantizedWeightFiles.Availability.READY) {
                err.println("already there: " + before.file() + " (" + size(before.bytes()) + "); delete it to quantize again");
                out().println(before.file());
                return 0;
            }
            if (before.availability() == QuantizedWeightFiles.Availability.UNUSABLE) {
                err.println("replacing " + before.file().getFileName() + ": " + before.problem());
            }
            err.printf(Locale.ROOT, "quantizing %s to %s: about %s into %s%n", dir, f.optionName(), size(QuantizedWeightFiles.estimatedBytes(dir, f)),
                    QuantizedWeightFiles.file(dir, f).getFileName());
            ProgressBar bar = quiet ? null : new ProgressBar(err, System.console() != null);
            TaskHandle<QuantizeReport> h = QuantizedWeightFiles.quantize(dir, f, bar == null ? ProgressListener.NONE : bar);
            QuantizeReport r;
            // the writer removes its partial file when it sees the cancel; a leftover one is never read, and the next run deletes it
            try (CancelOnExit ignored = new CancelOnExit("quantize-ctrl-c", h::cancel, h.result(), 30)) {
                r = h.join();
            } catch (CancellationException e) {
                err.println();
                err.println("cancelled; nothing was written");
                return 130;
            }
            if (bar != null) {
                bar.done();
            }
            if (!quiet) {
                out().println("relative RMS error per tensor (sqrt(sum (dequantized - original)^2 / sum original^2)):");
                for (QuantizeReport.TensorError t : r.tensors()) {
                    out().printf(Locale.ROOT, "  %-48s %6d x %-6d %7.3f%%%n", t.name(), t.rows(), t.cols(), 100 * t.relativeRmsError());
                }
            }
            err.printf(Locale.ROOT, "done in %s: %s (%s; the checkpoint is %s), %d tensors, relative RMS error %.3f%% overall, worst tensor %.3f%%%n",
                    duration(Duration.ofMillis((long) (r.seconds() * 1000))), r.file(), size(r.bytes()), size(r.sourceBytes()), r.tensors().size(),
                    100 * r.meanError(), 100 * r.worstError());
            err.println("use it: convllava ask --model " + dir + " --weights " + f.optionName() + " --image FILE --question TEXT");
            out().println(r.file());
            return 0;
        }

        private Path folder() {
            if (model != null && size != null) {
                throw new IllegalArgumentException("give a size or --model DIR, not both");
            }
            if (model != null) {
                return model;
            }
            if (size == null) {
                throw new IllegalArgumentException("which model? give an installed size (768, 1024 or 1536) or --model DIR");
            }
            ModelManager mm = hub.manager(1, -1);
            ModelVariant v = ModelVariant.standard(size);
            return mm.snapshotFolder(v).orElseThrow(() -> new IllegalArgumentException(v.id() + " is not installed in " + mm.cache().root()
                    + ": run `convllava models download " + v.id() + "` first, or give --model DIR"));
        }
    }

    /**
     * Quantizing progress on stderr: on a terminal one bar redrawn in place, otherwise a line every
     * few percent (logs and pipes).
     */
    static final class ProgressBar implements ProgressListener {
        private static final int WIDTH = 30;
        private final PrintWriter err;
        private final boolean terminal;
        private final long start = System.nanoTime();
        private long lastDraw;
        private int lastPercent = -1;

        ProgressBar(PrintWriter err, boolean terminal) {
            this.err = err;
            this.terminal = terminal;
        }

        @Override
        public synchronized void progress(String stage, double fraction) {
            long now = System.nanoTime();
            int percent = (int) Math.floor(Math.max(0, fraction) * 100);
            if (terminal ? now - lastDraw < 200_000_000L && percent == lastPercent : percent < lastPercent + 5 && fraction < 1) {
                return;
            }
            lastDraw = now;
            lastPercent = percent;
            double seconds = (now - start) / 1e9;
            String eta = fraction > 0.01 ? duration(Duration.ofMillis((long) (seconds * (1 - fraction) / fraction * 1000))) : "-";
            int filled = (int) Math.round(Math.max(0, fraction) * WIDTH);
            String line = String.format(Locale.ROOT, "[%s%s] %3d%%  ETA %-8s %s", "#".repeat(filled), " ".repeat(WIDTH - filled), percent, eta,
                    stage);
            if (terminal) {
                err.print("\r" + line + "\u001b[K");
            } else {
                err.println(line);
            }
            err.flush();
        }

        void done() {
            if (terminal) {
                err.println();
            }
        }
    }

    /** Progress on stderr: a line per finished or retried file, and the overall state every couple of seconds. */
    static final class ProgressPrinter implements DownloadListener {
        private final PrintWriter err;
        private long lastLine;

        ProgressPrinter(PrintWriter err) {
            this.err = err;
        }

        @Override
        public synchronized void onProgress(DownloadProgress p) {
            long now = System.nanoTime();
            if (p.phase() == DownloadProgress.Phase.DOWNLOADING && now - lastLine < 2_000_000_000L) {
                return;
            }
            if (p.phase() != DownloadProgress.Phase.DOWNLOADING && p.phase() != DownloadProgress.Phase.DONE) {
                return;
            }
            lastLine = now;
            err.printf(Locale.ROOT, "%5.1f%%  %s / %s  %s/s  ETA %s  (%d/%d files)%n", 100 * p.fraction(), size(p.bytesDone()), size(p.bytesTotal()),
                    size((long) p.bytesPerSecond()), p.eta() == null ? "-" : duration(p.eta()), p.filesDone(), p.filesTotal());
            err.flush();
        }

        @Override
        public synchronized void onFile(FileProgress f) {
            if (f.state() == FileState.DONE || f.state() == FileState.FAILED) {
                err.println("  " + f.state().name().toLowerCase(Locale.ROOT) + " " + f.repo() + "/" + f.file() + " (" + size(f.size()) + ")");
                err.flush();
            }
        }

        @Override
        public synchronized void onNote(String message) {
            err.println("  " + message);
            err.flush();
        }
    }

    static String gb(long b) {
        return b <= 0 ? "?" : String.format(Locale.ROOT, "%.1f GB", b / 1e9);
    }

    static String size(long b) {
        if (b < 1000) {
            return b + " B";
        }
        String[] u = {"kB", "MB", "GB", "TB"};
        double v = b;
        int i = -1;
        while (v >= 1000 && i < u.length - 1) {
            v /= 1000;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, u[i]);
    }

    static String duration(Duration d) {
        long s = d.toSeconds();
        return s >= 3600 ? s / 3600 + "h " + s % 3600 / 60 + "m" : s >= 60 ? s / 60 + "m " + s % 60 + "s" : String.format(Locale.ROOT, "%.1fs", d.toMillis() / 1000.0);
    }

    /**
     * Ctrl+C (or any JVM exit) while a task runs cancels it and gives it {@code waitSeconds} to clean
     * up; closing removes the hook.
     */
    private static final class CancelOnExit implements AutoCloseable {
        private final Thread hook;

        CancelOnExit(String name, Runnable cancel, Future<?> done, int waitSeconds) {
            hook = new Thread(() -> {
                cancel.run();
                try {
                    done.get(waitSeconds, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // exiting anyway
                }
            }, name);
            Runtime.getRuntime().addShutdownHook(hook);
        }

        @Override
        public void close() {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
        }
    }
}
