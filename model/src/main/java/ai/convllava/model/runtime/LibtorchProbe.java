package ai.convllava.model.runtime;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Loads a libtorch in a child JVM before this one commits to it. A libtorch that {@link LibtorchFolder}
 * accepted can still be broken (a truncated download, a library built for another C++ ABI, a CUDA
 * library that needs a newer glibc) and loading it may abort the process; in a child that costs one
 * failed probe and a message, and this JVM goes on with the bundled CPU libtorch. The child is this
 * class's {@link #main}: it loads the PyTorch engine with the folder's settings and prints what it found.
 *
 * <p>The same child, started without the bundled pytorch-native jar on its class path and allowed online,
 * is how a user who opts in lets DJL download a CUDA libtorch ({@link #download}).
 */
public final class LibtorchProbe {
    /** Printed by the child, one {@code key=value} per line. */
    static final String VERSION = "version", GPUS = "gpus", PATH = "libtorch", ERROR = "error";

    /**
     * What a probe found.
     *
     * @param ok       the engine loaded in the child
     * @param version  the libtorch version the engine reported
     * @param gpus     CUDA devices PyTorch sees
     * @param libDir   the folder the child's DJL loaded libtorch from
     * @param message  why it failed (the child's error, exit code, or last output lines), or null
     */
    public record Result(boolean ok, String version, int gpus, String libDir, String message) {
        static Result failed(String message) {
            return new Result(false, null, 0, null, message);
        }
    }

    private LibtorchProbe() {
    }

    /** The child: load PyTorch as configured by the system properties it was started with, print what it found. */
    public static void main(String[] args) {
        try {
            Engine e = Engine.getEngine("PyTorch");
            System.out.println(VERSION + "=" + e.getVersion());
            System.out.println(GPUS + "=" + LibtorchSetup.torchGpuCount());
            System.out.println(PATH + "=" + LibUtils.getLibtorchPath());
            System.out.flush();
            System.exit(0);
        } catch (Throwable t) { // an engine that fails to load throws EngineException, UnsatisfiedLinkError, ...: all are the answer
            System.out.println(ERROR + "=" + t.getClass().getSimpleName() + ": " + String.valueOf(t.getMessage()).replace('\n', ' '));
            Throwable c = t.getCause();
            while (c != null) {
                System.out.println(ERROR + "=caused by " + c.getClass().getSimpleName() + ": " + String.valueOf(c.getMessage()).replace('\n', ' '));
                c = c.getCause();
            }
            System.out.flush();
            System.exit(3);
        }
    }

    /** Loads {@code folder} in a child JVM (offline), waiting at most {@code timeout}. */
    public static Result run(LibtorchFolder folder, Duration timeout) {
        List<String> props = List.of("-Dai.djl.offline=true", "-DPYTORCH_LIBRARY_PATH=" + folder.libDir(), "-DPYTORCH_VERSION=" + folder.version(),
                "-DPYTORCH_FLAVOR=" + LibtorchFolder.djlFlavor(folder.flavor(), LibtorchFolder.driverLibraryPresent()));
        return start(props, System.getProperty("java.class.path"), timeout, line -> { }, () -> false);
    }

    /**
     * Lets DJL download the libtorch of {@code flavor} (e.g. cu128) for this build's PyTorch version into
     * its cache, in a child JVM that is online and has no bundled libtorch on its class path (with one, DJL
     * would use it and never download). Each line the child prints goes to {@code lines}; cancelling stops
     * the child. On success {@link Result#libDir} is the downloaded folder.
     */
    public static Result download(String flavor, Duration timeout, Consumer<String> lines, BooleanSupplier cancelled) {
        String cp = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !Path.of(e).getFileName().toString().startsWith("pytorch-native-"))
                .collect(Collectors.joining(File.pathSeparator));
        List<String> props = List.of("-Dai.djl.offline=false", "-DPYTORCH_FLAVOR=" + flavor, "-Dorg.slf4j.simpleLogger.defaultLogLevel=info");
        return start(props, cp, timeout, lines, cancelled);
    }

    private static Result start(List<String> props, String classPath, Duration timeout, Consumer<String> lines, BooleanSupplier cancelled) {
        String exe = System.getProperty("os.name", "").toLowerCase().startsWith("win") ? "java.exe" : "java";
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", exe).toString());
        cmd.add("-Xmx256m");
        cmd.add("-XX:-CreateCoredumpOnCrash");
        Path errorFile = null;
        try {
            errorFile = Files.createTempFile("convllava-libtorch-probe", ".log");
            cmd.add("-XX:ErrorFile=" + errorFile);
        } catch (IOException e) {
            errorFile = null;
        }
        cmd.addAll(props);
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(LibtorchProbe.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        // the environment would win over the properties above (DJL reads it first)
        pb.environment().keySet().removeIf(k -> k.startsWith("PYTORCH_"));
        Properties found = new Properties();
        Deque<String> tail = new ArrayDeque<>();
        List<String> errors = new ArrayList<>();
        try {
            Process p = pb.start();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        lines.accept(line);
                        int eq = line.indexOf('=');
                        if (eq > 0 && List.of(VERSION, GPUS, PATH).contains(line.substring(0, eq))) {
                            found.setProperty(line.substring(0, eq), line.substring(eq + 1));
                        } else if (!line.isBlank()) {
                            synchronized (tail) {
                                if (line.startsWith(ERROR + "=")) {
                                    errors.add(line.substring(ERROR.length() + 1));
                                }
                                tail.addLast(line);
                                if (tail.size() > 4) {
                                    tail.removeFirst();
                                }
                            }
                        }
                    }
                } catch (IOException e) {
                    // the child is gone; its exit code says the rest
                }
            }, "convllava-libtorch-probe-output");
            reader.setDaemon(true);
            reader.start();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!p.waitFor(200, TimeUnit.MILLISECONDS)) {
                if (cancelled.getAsBoolean() || System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                    return Result.failed(cancelled.getAsBoolean() ? "cancelled" : "the check did not finish within " + timeout.toSeconds() + " s");
                }
            }
            reader.join(2000);
            int code = p.exitValue();
            String last;
            synchronized (tail) {
                // the child's own error when it printed one, else its last lines (a crash prints none)
                last = String.join(" / ", errors.isEmpty() ? tail : errors);
            }
            if (code == 0 && found.containsKey(VERSION)) {
                return new Result(true, found.getProperty(VERSION), parseInt(found.getProperty(GPUS)), found.getProperty(PATH), null);
            }
            String crash = errorFile != null && Files.size(errorFile) > 0 ? firstProblemLine(errorFile) : null;
            return Result.failed((code > 128 ? "loading it crashed the test process (signal " + (code - 128) + ")" : "loading it failed (exit code " + code + ")")
                    + (crash != null ? ": " + crash : "") + (last.isEmpty() ? "" : ": " + last));
        } catch (IOException e) {
            return Result.failed("could not start a Java process to check it: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Result.failed("interrupted");
        } finally {
            if (errorFile != null) {
                try {
                    Files.deleteIfExists(errorFile);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
    }

    /** The line of a JVM crash log that says which library failed. */
    private static String firstProblemLine(Path hsErr) throws IOException {
        try (var s = Files.lines(hsErr, StandardCharsets.ISO_8859_1)) {
            // the line under "# Problematic frame:" names the native library (C) or Java method (J) that crashed
            return s.filter(l -> l.startsWith("# C  [") || l.startsWith("# J ")).map(l -> l.replaceFirst("^#\\s*", "")).findFirst().orElse(null);
        }
    }

    private static int parseInt(String s) {
        try {
            return s == null ? 0 : Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
