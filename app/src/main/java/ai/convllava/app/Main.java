package ai.convllava.app;

import ai.convllava.app.cli.ConvLlavaCli;
import ai.convllava.app.gui.DesktopLauncher;
import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.settings.SettingsStore;
import ai.convllava.model.api.EngineInfo;
import ai.convllava.model.api.JitOptions;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Entry point of {@code convllava.jar}: with a subcommand (ask, ...) or an option it runs the command
 * line; with no arguments, or an image file, it starts the desktop app.
 */
public final class Main {
    /** First arguments that mean the command line, not the app. */
    static final Set<String> CLI_WORDS = Set.of("ask", "serve", "bench", "models", "self-test", "help", "-h", "--help", "-V", "--version");

    /**
     * The collector. 8-bit and 4-bit weights are a few hundred large arrays that hold no references, and little else
     * lives long: the serial collector's young collections of {@link #MAX_NEW_SIZE} took under a millisecond and a full
     * collection of 4 GB of such arrays 2-26 ms, while G1 keeps about 0.2 GB of bookkeeping (its marking bitmap and
     * remembered sets) resident beside a 4 GB heap and gives every large array whole regions of its own
     * (docs/bench/quant.md, "The serial collector"). Not added when the command line names a collector.
     */
    static final String GC = "-XX:+UseSerialGC";
    /**
     * The young generation's ceiling. With the weights on the heap the collectors' defaults let the young
     * generation grow to a third (serial) or 60% (G1) of it, and every page it has once handed out stays resident: a
     * conversation's short-lived garbage (activations copied out of libtorch, logits) then holds RAM
     * beside the weights for nothing. Collecting a young generation this size is quick, since the
     * weights hold no references (docs/bench/quant.md, "The Java heap's growth").
     */
    static final String MAX_NEW_SIZE = "64m";
    /**
     * The heap gives back what the load used and the model does not hold at the load's last collection, in one go.
     * By default the serial collector shrinks the old generation over four full collections (0%, 10%, 40%, then 100% of
     * the excess), so after the load's collections the heap kept what the load had touched committed, and resident,
     * beside the weights (docs/bench/quant.md, "Under 6 GB").
     */
    static final String SHRINK_AT_ONCE = "-XX:-ShrinkHeapInSteps";
    /** glibc malloc settings that avoid page-fault storms on large temporaries (the tests run with them too). */
    static final String GLIBC_TUNABLES = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184";
    /**
     * libtorch's OpenMP workers sleep when an op is done instead of spinning on the cores: the Java
     * kernels that run next (the 8-bit and 4-bit mat-vecs of every generated token) get both cores.
     * Read by libgomp when libtorch loads, so it too is set for the process from its start.
     */
    static final String OMP_WAIT_POLICY = "PASSIVE";
    /** Set in the environment of the re-executed launcher, so that it never re-executes again. */
    static final String REEXEC_MARKER = "CONVLLAVA_REEXEC";

    private Main() {
    }

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        args = aliases(args);
        if (isGui(args)) {
            String noDisplay = DesktopLauncher.noDisplay(System.getenv(), System.getProperty("os.name", ""));
            if (noDisplay != null) { // before the restart below: one line, not a second JVM's warnings
                System.err.println(noDisplay);
                System.exit(1);
            }
        }
        // before anything loads DJL's engine: a libtorch folder named in Settings or PYTORCH_LIBRARY_PATH is checked first
        EngineInfo.LibtorchChoice libtorch = EngineInfo.chooseLibtorch(libtorchFolderSetting());
        Integer reexec = reexecWithTunables(args, libtorch.restartWithoutEnv() ? (libtorch.refused() != null ? libtorch.refused() : "") : null);
        if (reexec != null) {
            System.exit(reexec);
        }
        if (libtorch.refused() != null) { // in the process that carries on (a restarted one says it again)
            System.err.println("note: " + libtorch.refused() + "; using " + libtorch.inUse().replaceFirst("; not used: .*", ""));
        }
        if (isGui(args)) {
            int code = DesktopLauncher.launch(args);
            if (code != 0) {
                System.exit(code);
            }
            return;
        }
        System.exit(ConvLlavaCli.run(args));
    }

    /** The libtorch folder named in Settings (the app's and the command line's), or null for none. */
    static Path libtorchFolderSetting() {
        String dir = new SettingsStore(AppPaths.fromSystem().settingsFile()).load().libtorchFolderProperty().get();
        return dir == null || dir.isBlank() ? null : Path.of(dir.strip());
    }

    /** {@code --self-test} is {@code self-test}. */
    static String[] aliases(String[] args) {
        if (args.length > 0 && args[0].equals("--self-test")) {
            String[] a = args.clone();
            a[0] = "self-test";
            return a;
        }
        return args;
    }

    /** No arguments, or a first argument that is not a subcommand or an option (an image to open). */
    static boolean isGui(String[] args) {
        return args.length == 0 || !(CLI_WORDS.contains(args[0]) || args[0].startsWith("-"));
    }

    /**
     * The Java heap's ceiling as a share of RAM, as the installed launcher sets it: 8-bit and 4-bit
     * weights live on the heap (a 7B model's 4-bit weights are ~3.8 GB, more than the JVM's default quarter
     * of an 8 GB laptop); the rest stays for libtorch's tensors.
     */
    static final int MAX_RAM_PERCENTAGE = 60;

    /** Neither -Xmx nor a heap percentage was given: the JVM's default (a quarter of RAM) is in force. */
    static boolean heapLeftAtDefault() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .noneMatch(a -> a.startsWith("-Xmx") || a.startsWith("-XX:MaxHeapSize") || a.startsWith("-XX:MaxRAMPercentage")
                        || a.startsWith("-XX:MaxRAM="));
    }

    /**
     * Four things must be in place when the JVM starts: GLIBC_TUNABLES and OMP_WAIT_POLICY (glibc and
     * libgomp read them only at process start; the installed app's jpackage launcher cannot set
     * environment variables), the
     * {@code jdk.incubator.vector} module (the float16 kernel for short prefills; without it they run
     * slower, on libtorch), the kernel's {@link JitOptions#LOOP_UNROLL_LIMIT} and a heap that can hold
     * quantized weights ({@link #MAX_RAM_PERCENTAGE}). When one is missing, start once more
     * with them and pass the exit code on: the jpackage launcher again (its options hold the other
     * two), or for {@code java -jar} the same java with the same arguments plus the missing options. Skipped when the marker variable is present (no loops),
     * when the original command line is not known, or with {@code -Dconvllava.reexec=false}.
     *
     * <p>A fifth: DJL reads {@code PYTORCH_LIBRARY_PATH} from the environment before anything this process
     * can set, so a refused one ({@code refusedLibtorchEnv}, the reason) means starting again without it.
     *
     * @return the child's exit code, or null to carry on in this process
     */
    static Integer reexecWithTunables(String[] args, String refusedLibtorchEnv) {
        boolean dropLibtorchEnv = refusedLibtorchEnv != null;
        boolean linux = System.getProperty("os.name", "").toLowerCase().contains("linux");
        boolean needTunables = linux && (System.getenv("GLIBC_TUNABLES") == null || System.getenv("OMP_WAIT_POLICY") == null);
        boolean needVector = ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty();
        boolean needUnroll = JitOptions.loopUnrollTooHigh(); // false where the option does not exist (no C2): never added there
        boolean needHeap = heapLeftAtDefault();
        if (!(needTunables || needVector || needUnroll || needHeap || dropLibtorchEnv) || System.getenv(REEXEC_MARKER) != null
                || "false".equals(System.getProperty("convllava.reexec"))) {
            return dropLibtorchEnv ? cannotDropLibtorchEnv() : null;
        }
        List<String> cmd = new ArrayList<>();
        String launcher = System.getProperty("jpackage.app-path");
        if (launcher != null) {
            if (!needTunables && !dropLibtorchEnv) {
                return null; // the launcher's own options hold the module and the unrolling limit; only the tunables need a restart
            }
            cmd.add(launcher);
            cmd.addAll(Arrays.asList(args));
        } else {
            ProcessHandle.Info info = ProcessHandle.current().info();
            String[] original = info.arguments().orElse(null);
            if (info.command().isEmpty() || original == null || !Arrays.asList(original).contains("-jar")) {
                return dropLibtorchEnv ? cannotDropLibtorchEnv() : null; // started some other way (an IDE, a test): leave it alone
            }
            cmd.add(info.command().get());
            if (needVector) {
                cmd.add("--add-modules=jdk.incubator.vector");
            }
            if (needUnroll) {
                cmd.add("-XX:LoopUnrollLimit=" + JitOptions.LOOP_UNROLL_LIMIT); // before the user's own options, which win
            }
            if (needHeap) {
                cmd.add("-XX:MaxRAMPercentage=" + MAX_RAM_PERCENTAGE);
                cmd.add("-XX:MaxHeapFreeRatio=30"); // after the load's collection the heap gives back what the weights do not need
                cmd.add("-XX:MinHeapFreeRatio=10");
                cmd.add("-XX:MaxNewSize=" + MAX_NEW_SIZE);
                cmd.add(SHRINK_AT_ONCE);
                if (Arrays.stream(original).noneMatch(a -> a.matches("-XX:[+]Use\\w+GC"))) {
                    cmd.add(GC); // two collectors named would stop the JVM
                }
            }
            cmd.addAll(Arrays.asList(original));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        // the launcher marks its own second stage with _JPACKAGE_LAUNCHER; a child that inherited it would skip the cfg file
        pb.environment().keySet().removeIf(k -> k.startsWith("_JPACKAGE"));
        if (linux) {
            pb.environment().putIfAbsent("GLIBC_TUNABLES", GLIBC_TUNABLES);
            pb.environment().putIfAbsent("OMP_WAIT_POLICY", OMP_WAIT_POLICY);
        }
        pb.environment().put(REEXEC_MARKER, "1");
        if (dropLibtorchEnv) {
            pb.environment().keySet().removeAll(EngineInfo.LIBTORCH_ENV_VARIABLES);
            pb.environment().put(EngineInfo.LIBTORCH_REFUSED_ENV, refusedLibtorchEnv);
        }
        try {
            Process p = pb.start();
            Thread killer = new Thread(p::destroy, "convllava-reexec-stop");
            Runtime.getRuntime().addShutdownHook(killer);
            while (true) {
                try {
                    int code = p.waitFor();
                    try {
                        Runtime.getRuntime().removeShutdownHook(killer);
                    } catch (IllegalStateException shuttingDown) {
                        // exiting anyway
                    }
                    return code;
                } catch (InterruptedException e) {
                    // keep waiting: the child owns the work; a signal to us reaches it through the shutdown hook
                }
            }
        } catch (IOException | RuntimeException e) {
            if (dropLibtorchEnv) {
                return cannotDropLibtorchEnv();
            }
            System.err.println("note: could not restart with GLIBC_TUNABLES, OMP_WAIT_POLICY and the vector module (" + e.getMessage()
                    + "); carrying on without them");
            return null;
        }
    }

    /**
     * A refused PYTORCH_LIBRARY_PATH that this process cannot get rid of (no restart possible): loading it
     * could abort the JVM, so stop here with what to do.
     */
    private static Integer cannotDropLibtorchEnv() {
        System.err.println("error: PYTORCH_LIBRARY_PATH names a libtorch this build cannot use (above); start again without it"
                + " (unset PYTORCH_LIBRARY_PATH) or point it at a libtorch of the version named above");
        return 1;
    }
}
