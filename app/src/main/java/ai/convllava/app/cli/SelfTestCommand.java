package ai.convllava.app.cli;

import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.DecodedImage;
import ai.convllava.model.api.image.ImageFiles;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.tokenizer.ConversationPrompt;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code convllava self-test} (also {@code convllava --self-test} and Help > Self-test): loads a
 * tiny ConvLLaVA-shaped model (the one bundled in the installed app under {@code selftest/}, or
 * {@code --model DIR}), answers one question about one image greedily, checks the answer when it is
 * known, and prints the versions (app, Java, JavaFX, DJL, PyTorch), the device and the timings.
 * Exit code 0 when everything worked, 1 otherwise. It proves that the bundled runtime, JavaFX and
 * libtorch load offline on this machine.
 */
@Command(name = "self-test", description = "Check the installation: load the tiny bundled model (or --model DIR), answer one question, print versions and timings.")
public final class SelfTestCommand implements Callable<Integer> {
    /** The question asked about {@code wide.png}; with 16 greedy tokens the tiny fixture answers {@link #TINY_ANSWER}. */
    public static final String QUESTION = "What is the tallest bar in this chart?";
    /** The Python reference's 16 greedy tokens of the tiny fixture for {@link #QUESTION} about wide.png (random weights). */
    public static final String TINY_ANSWER = "reviewed乎uffixconvert tea época cryst suspectales runner teaiker᥀推store slä";
    /** Name of the tiny fixture's folder; a model folder of this name is expected to answer {@link #TINY_ANSWER}. */
    static final String TINY_MODEL = "tiny-convllava";

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "model folder (default: the bundled tiny model)")
    Path model;

    @Option(names = "--image", paramLabel = "FILE", description = "image (default: the bundled wide.png)")
    Path image;

    @Option(names = "--question", paramLabel = "TEXT", description = "question (default: \"" + QUESTION + "\")")
    String question;

    @Option(names = "--max-new-tokens", defaultValue = "16", paramLabel = "N")
    int maxNewTokens;

    @Option(names = "--expect", paramLabel = "TEXT",
            description = "expected answer (default: the known answer when the model is the tiny fixture and question, image and token count are the defaults)")
    String expect;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() {
        return run(spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    /** The self-test with the bundled defaults, for Help > Self-test. */
    public static int runDefault(PrintWriter out) {
        SelfTestCommand c = new SelfTestCommand();
        c.maxNewTokens = 16;
        return c.run(out, out);
    }

    int run(PrintWriter out, PrintWriter err) {
        long t0 = System.nanoTime();
        out.println("ConvLLaVA Desktop self-test");
        printVersions(out);
        try {
            Path dir = model != null ? model : bundledDir().map(d -> d.resolve(TINY_MODEL)).orElseThrow(() -> new IllegalStateException(
                    "no bundled self-test model found (looked for selftest/" + TINY_MODEL + " beside the app jar and tests/fixtures/tiny); pass --model DIR"));
            Path img = image != null ? image : dir.toAbsolutePath().getParent().resolve("images").resolve("wide.png");
            String q = question != null ? question : QUESTION;
            String expected = expect;
            if (expected == null && image == null && question == null && maxNewTokens == 16
                    && dir.toAbsolutePath().normalize().getFileName().toString().equals(TINY_MODEL)) {
                expected = TINY_ANSWER;
            }
            out.println("model:      " + dir.toAbsolutePath().normalize());
            out.println("image:      " + img.toAbsolutePath().normalize());
            out.println("question:   " + q);
            out.flush();

            out.println("pdf pages:  " + ai.convllava.model.image.PdfPages.selfCheck());
            var rgb = ImageFiles.read(img);
            long l0 = System.nanoTime();
            String answer;
            try (ConvLlava m = ConvLlava.load(LoadOptions.of(dir), LoadListener.NONE, () -> false)) {
                double loadMs = ms(l0);
                out.printf("device:     %s (weights %s, %d layers)%n", m.deviceName(), m.weightFormat(), m.numLayers());
                out.println("pytorch:    " + pytorchVersion());
                long start = System.nanoTime();
                PreprocessedImage pre = m.preprocessor().preprocess(rgb, CanvasMode.PAD);
                double preMs = ms(start);
                long v0 = System.nanoTime();
                int[] ids = ConversationPrompt.imageQuestion(q).inputIds(m.tokenizer());
                try (ImageFeatures features = m.encodeImage(pre, null, () -> false);
                     Conversation conv = m.newConversation(ids.length + features.tokens() + maxNewTokens)) {
                    double visMs = ms(v0);
                    GenerationResult r = m.generate(conv, ids, features, GenerationConfig.greedy(maxNewTokens), (id, d) -> { },
                            () -> false, new Timings(preMs, visMs, 0, 0, 0, 0), start);
                    if (r.error() != null) {
                        throw new IllegalStateException("generation failed: " + r.error());
                    }
                    answer = r.text();
                    Timings t = r.timings();
                    out.println("answer:     " + answer);
                    out.printf("timings:    load %.0f ms, preprocess %.0f ms, vision %.0f ms, prefill %.0f ms, first token %.0f ms, "
                                    + "%d tokens at %.1f tokens/s (%s)%n", loadMs, t.preprocessMs(), t.visionEncodeMs(), t.prefillMs(),
                            t.timeToFirstTokenMs(), r.generatedIds().length, t.decodeTokensPerSecond(), r.finishReason());
                }
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
            if (verbose) {
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
        out.println("app:        " + ConvLlavaCli.class.getAnnotation(Command.class).version()[0]);
        out.println("java:       " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.home") + ")");
        out.println("os:         " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch")
                + ", " + rt.availableProcessors() + " cores, max heap " + rt.maxMemory() / (1024 * 1024) + " MiB");
        out.println("javafx:     " + javafxVersion());
        out.println("djl:        " + djlVersion() + " (offline=" + System.getProperty("ai.djl.offline") + ", cache " + djlCacheDir() + ")");
        String tunables = System.getenv("GLIBC_TUNABLES");
        out.println("malloc:     GLIBC_TUNABLES=" + (tunables == null ? "(not set)" : tunables));
        out.println("f16 matmul: " + ai.convllava.model.nn.LinearLayer.halfKernelStatus());
        out.flush();
    }

    private static String javafxVersion() {
        try {
            return (String) Class.forName("com.sun.javafx.runtime.VersionInfo").getMethod("getRuntimeVersion").invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            return "not found (" + e + ")";
        }
    }

    private static String djlVersion() {
        try {
            return ai.djl.engine.Engine.getDjlVersion();
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e + ")";
        }
    }

    private static String djlCacheDir() {
        try {
            return ai.djl.util.Utils.getEngineCacheDir().toString();
        } catch (RuntimeException | LinkageError e) {
            return "unknown";
        }
    }

    private static String pytorchVersion() {
        try {
            return ai.djl.engine.Engine.getEngine("PyTorch").getVersion();
        } catch (RuntimeException | LinkageError e) {
            return "unknown (" + e + ")";
        }
    }

    /**
     * The folder holding the bundled self-test data: {@code selftest/} beside convllava.jar (the installed
     * app's lib/app/), the system property {@code convllava.selftest.dir}, or, in a source checkout,
     * {@code tests/fixtures/tiny} above the jar or the working directory.
     */
    static java.util.Optional<Path> bundledDir() {
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
            var src = SelfTestCommand.class.getProtectionDomain().getCodeSource();
            return src == null ? null : Path.of(src.getLocation().toURI()).toAbsolutePath().getParent();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
