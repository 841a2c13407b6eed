package ai.convllava.app.selftest;

import ai.convllava.app.about.About;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.EngineInfo;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.ImageFiles;
import ai.convllava.model.api.image.RgbImage;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The installation check behind {@code convllava self-test} (also {@code --self-test}) and Help >
 * Self-test: loads a model through the session (by default the tiny one bundled in the installed app
 * under {@code selftest/}), answers one question about one image greedily, checks the answer when it is
 * known, and prints the versions (app, Java, JavaFX, DJL, PyTorch), the device and the timings. It
 * proves that the bundled runtime, JavaFX and libtorch load offline on this machine.
 */
public final class SelfTest {
    /** The question asked about {@code wide.png}; with 16 greedy tokens the tiny fixture answers {@link #TINY_ANSWER}. */
    public static final String QUESTION = "What is the tallest bar in this chart?";
    /** The Python reference's 16 greedy tokens of the tiny fixture for {@link #QUESTION} about wide.png (random weights). */
    public static final String TINY_ANSWER = "reviewed乎uffixconvert tea época cryst suspectales runner teaiker᥀推store slä";
    /** Name of the tiny fixture's folder; a model folder of this name is expected to answer {@link #TINY_ANSWER}. */
    public static final String TINY_MODEL = "tiny-convllava";

    /**
     * What to test.
     *
     * @param model  model folder, or null for the bundled tiny model
     * @param image  image, or null for the bundled wide.png
     * @param question question, or null for {@link #QUESTION}
     * @param expect expected answer, or null: the known one when model, image, question and token count are the defaults
     * @param device where to run it (Auto: the GPU when there is one)
     */
    public record Options(Path model, Path image, String question, int maxNewTokens, String expect, boolean verbose, Device device) {
        public Options {
            if (device == null) {
                device = Device.AUTO;
            }
        }

        /** The bundled model, image and question, 16 tokens, the GPU when there is one. */
        public static Options defaults() {
            return new Options(null, null, null, 16, null, false, Device.AUTO);
        }
    }

    private SelfTest() {
    }

    /** Runs the check; the report goes to {@code out}, failures to {@code err}. Exit code: 0 when everything worked, 1 otherwise. */
    public static int run(Options o, PrintWriter out, PrintWriter err) {
        long t0 = System.nanoTime();
        out.println("ConvLLaVA Desktop self-test");
        printVersions(out);
        try {
            Path dir = o.model() != null ? o.model() : bundledDir().map(d -> d.resolve(TINY_MODEL)).orElseThrow(() -> new IllegalStateException(
                    "no bundled self-test model found (looked for selftest/" + TINY_MODEL + " beside the app jar and tests/fixtures/tiny); pass --model DIR"));
            Path img = o.image() != null ? o.image() : dir.toAbsolutePath().getParent().resolve("images").resolve("wide.png");
            String q = o.question() != null ? o.question() : QUESTION;
            String expected = o.expect();
            if (expected == null && o.image() == null && o.question() == null && o.maxNewTokens() == 16
                    && dir.toAbsolutePath().normalize().getFileName().toString().equals(TINY_MODEL)) {
                expected = TINY_ANSWER;
            }
            out.println("model:      " + dir.toAbsolutePath().normalize());
            out.println("image:      " + img.toAbsolutePath().normalize());
            out.println("question:   " + q);
            out.flush();

            out.println("pdf pages:  " + EngineInfo.pdfSelfCheck());
            out.println("libtorch:   " + EngineInfo.libtorchStatus());
            out.println("nvidia:     " + EngineInfo.gpuDriverStatus());
            out.println("runs on:    " + EngineInfo.deviceStatus(o.device()) + " (--device " + o.device().name().toLowerCase(java.util.Locale.ROOT) + ")");
            out.flush();
            RgbImage rgb = ImageFiles.read(img);
            String answer;
            try (VisionChatSession session = VisionChatSession.local()) {
                ModelInfo info = session.loadModel(LoadOptions.of(dir).withDevice(o.device()), ProgressListener.NONE).join();
                out.printf("device:     %s (weights %s, %d layers)%n", info.device(), info.weightFormat(), info.layers());
                out.println("pytorch:    " + EngineInfo.pytorchVersion());
                session.setImage(rgb, CanvasMode.PAD, false).join();
                GenerationResult r = session.ask(ChatRequest.question(q, GenerationConfig.greedy(o.maxNewTokens())),
                        AnswerListener.NONE).join();
                if (r.error() != null) {
                    throw new IllegalStateException("generation failed: " + r.error());
                }
                answer = r.text();
                Timings t = r.timings();
                out.println("answer:     " + answer);
                out.printf("timings:    load %.0f ms, preprocess %.0f ms, vision %.0f ms, prefill %.0f ms, first token %.0f ms, "
                                + "%d tokens at %.1f tokens/s (%s)%n", info.loadSeconds() * 1000, t.preprocessMs(), t.visionEncodeMs(),
                        t.prefillMs(), t.timeToFirstTokenFromImageMs(), r.generatedIds().length, t.decodeTokensPerSecond(), r.finishReason());
            }
            if (expected != null && !expected.equals(answer)) {
                err.println("self-test FAILED: the answer differs from the expected one");
                err.println("  expected: " + expected);
                err.println("  got:      " + answer);
                err.flush();
                return 1;
            }
            out.printf("self-test OK%s in %.0f ms (JVM up %d ms before)%n", expected != null ? " (answer as expected)" : " (answer not checked)",
                    ms(t0), ManagementFactory.getRuntimeMXBean().getUptime() - (long) ms(t0));
            out.flush();
            return 0;
        } catch (RuntimeException | LinkageError e) {
            err.println("self-test FAILED: " + e);
            if (o.verbose()) {
                e.printStackTrace(err);
            }
            err.flush();
            return 1;
        }
    }

    private static double ms(long since) {
        return (System.nanoTime() - since) / 1e6;
    }

    private static void printVersions(PrintWriter out) {
        Runtime rt = Runtime.getRuntime();
        out.println("app:        " + About.VERSION);
        out.println("java:       " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.home") + ")");
        out.println("os:         " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch")
                + ", " + rt.availableProcessors() + " cores, max heap " + rt.maxMemory() / (1024 * 1024) + " MiB");
        out.println("javafx:     " + javafxVersion());
        out.println("djl:        " + EngineInfo.djlVersion() + " (offline=" + System.getProperty("ai.djl.offline") + ", cache "
                + EngineInfo.djlCacheDir() + ")");
        String tunables = System.getenv("GLIBC_TUNABLES");
        out.println("malloc:     GLIBC_TUNABLES=" + (tunables == null ? "(not set)" : tunables));
        String wait = System.getenv("OMP_WAIT_POLICY");
        out.println("OpenMP:     OMP_WAIT_POLICY=" + (wait == null ? "(not set: libtorch's workers spin after each op)" : wait));
        out.println("f16 matmul: " + EngineInfo.halfKernelStatus());
        out.println("8/4-bit:    " + EngineInfo.quantKernelStatus());
        out.flush();
    }

    private static String javafxVersion() {
        try {
            return (String) Class.forName("com.sun.javafx.runtime.VersionInfo").getMethod("getRuntimeVersion").invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            return "not found (" + e + ")";
        }
    }

    /**
     * The folder holding the bundled self-test data: {@code selftest/} beside convllava.jar (the installed
     * app's lib/app/), the system property {@code convllava.selftest.dir}, or, in a source checkout,
     * {@code tests/fixtures/tiny} above the jar or the working directory.
     */
    public static Optional<Path> bundledDir() {
        List<Path> candidates = new ArrayList<>();
        String prop = System.getProperty("convllava.selftest.dir");
        if (prop != null) {
            candidates.add(Path.of(prop));
        }
        Path jarDir = jarDir();
        if (jarDir != null) {
            candidates.add(jarDir.resolve("selftest"));
        }
        for (Path start : new Path[]{jarDir, Path.of("").toAbsolutePath()}) {
            for (Path p = start; p != null; p = p.getParent()) {
                candidates.add(p.resolve("tests").resolve("fixtures").resolve("tiny"));
            }
        }
        return candidates.stream().filter(d -> Files.isDirectory(d.resolve(TINY_MODEL))).findFirst();
    }

    private static Path jarDir() {
        try {
            var src = SelfTest.class.getProtectionDomain().getCodeSource();
            return src == null ? null : Path.of(src.getLocation().toURI()).toAbsolutePath().getParent();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
