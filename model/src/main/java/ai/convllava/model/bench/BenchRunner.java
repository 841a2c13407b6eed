package ai.convllava.model.bench;

import ai.convllava.model.api.Turn;
import ai.convllava.model.api.MachineProbe;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.checkpoint.WeightSource;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.api.Device;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Timings;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.nn.MlpProjector;
import ai.convllava.model.nn.Weights;
import ai.convllava.model.tokenizer.ConversationPrompt;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Runs the benchmark: builds a synthetic ConvLLaVA (in memory, or from a synthetic checkpoint
 * written once), asks the scripted conversation, and measures each stage through the engine's public
 * API. With fewer layers than the model has, the same conversation also runs on a one-layer model
 * (with a tiny tower of the same canvas) and the LLM numbers are extrapolated ({@link Scaling}).
 */
public final class BenchRunner {
    public static final String QUESTION = "What is written in this image? Describe it in detail.";
    public static final String FOLLOW_UP = "What colour is the text, and where is it placed?";
    /** Size of the synthetic photo given to the preprocessor (a landscape camera image). */
    public static final int IMAGE_WIDTH = 1600;
    public static final int IMAGE_HEIGHT = 1200;

    private BenchRunner() {
    }

    /**
     * One pass of the scripted conversation on one model; times in ms.
     *
     * @param typedTtftMs    time to first token of the question after it was read as a draft while typed (after pre-encoding)
     * @param typedNewTokens prompt tokens left to compute then (" ASSISTANT:")
     */
    public record Run(int layers, String weightFormat, double loadMs, double preprocessMs, double visionEncodeMs, int imageTokens,
                      double prefillMs, int prefillTokens, double ttftMs, double preencodePrefillMs, double preencodedTtftMs,
                      int preencodedNewTokens, double typedTtftMs, int typedNewTokens, double followupTtftMs, int followupNewTokens,
                      int decodeTokensGenerated, double decodeTokensPerS, double decodeTokensPerSAttention, String finishReason) {
    }

    /** Everything measured, before extrapolation. */
    public record Measurements(BenchOptions options, SyntheticModel model, Run main, Run oneLayer, double projectorMs,
                               long peakRssBytes, double syntheticGenerationMs, long syntheticValues, double checkpointWriteMs,
                               boolean checkpointReused, long checkpointBytes, MachineProbe.Machine machine,
                               String loadAverageStart, String loadAverageEnd, String towerMemory) {
    }

    public static BenchReport run(BenchOptions o, Consumer<String> log) {
        String loadStartAvg = MachineProbe.loadAverage();
        SyntheticModel full = o.model();
        int layers = o.layersRun();
        int fullLayers = full.config().llm().numHiddenLayers();
        if (layers < fullLayers && layers < 2) {
            throw new IllegalArgumentException("--layers must be at least 2 to extrapolate (got " + layers + ")");
        }
        SyntheticWeights synthetic = new SyntheticWeights(layers < fullLayers ? full.withLlmLayers(layers) : full, o.seed());
        double writeMs = 0;
        boolean reused = false;
        WeightSource source = synthetic;
        if (o.fromDisk() != null) {
            reused = SyntheticCheckpoint.isUpToDate(o.fromDisk(), synthetic);
            if (!reused) {
                log.accept("writing a synthetic BF16 checkpoint (" + gb(synthetic.totalBytes()) + " GB) to " + o.fromDisk());
                long t = System.nanoTime();
                SyntheticCheckpoint.write(o.fromDisk(), synthetic);
                writeMs = ms(t);
            } else {
                log.accept("reusing the synthetic checkpoint in " + o.fromDisk());
            }
        }
        // The one-layer calibration runs first, twice, and only its second pass is kept: the first warms
        // the JVM up (C2 compiling the prefill, decode and kernel paths), so that neither run carries
        // one-time costs. In either run alone the extrapolation q(32) = q(N) + (32 - N)(q(N) - q(1))/(N - 1)
        // multiplied them by 9.3 (N = 4), up or down: in the N-layer run the first decode came out at
        // 0.62 tokens/s and the same decode later in the same run at 0.86.
        Run one = null;
        if (layers < fullLayers) {
            SyntheticModel calib = full.withTinyTower().withLlmLayers(1);
            log.accept("calibrating: the same conversation on one decoder layer (tiny tower, same canvas), once to warm up");
            for (int pass = 0; pass < 2; pass++) {
                long t = System.nanoTime();
                try (SyntheticWeights w = new SyntheticWeights(calib, o.seed()); ConvLlava m = build(full.withTinyTower(), w, 1, o)) {
                    one = scenario(m, o, ms(t), pass == 0 ? s -> { } : log); // the second pass's replaces the first's
                }
            }
        }
        long genBefore = synthetic.generationNanos();
        long valuesBefore = synthetic.valuesGenerated();
        Run main;
        String towerMemory;
        long loadStart = System.nanoTime();
        if (o.fromDisk() != null) {
            source = ShardedCheckpoint.open(o.fromDisk());
        }
        log.accept("loading " + full.name() + " with " + layers + " of " + fullLayers + " decoder layers from " + source.describe());
        try (ConvLlava m = build(full, source, layers, o)) {
            double loadMs = ms(loadStart);
            towerMemory = m.towerMemory().name();
            log.accept(String.format("loaded in %.1f s (%s LLM weights); running the conversation", loadMs / 1000, m.weightFormat()));
            main = scenario(m, o, loadMs, log);
        } finally {
            if (source != synthetic) {
                source.close();
            }
        }
        long peak = MachineProbe.peakRssBytes();
        double genMs = (synthetic.generationNanos() - genBefore) / 1e6;
        long values = synthetic.valuesGenerated() - valuesBefore;

        double projectorMs = projectorMs(full, synthetic, o, main.weightFormat());

        MachineProbe.Machine machine = null;
        if (o.machineBytes() > 0) {
            log.accept("measuring memory bandwidth and GEMM throughput");
            machine = MachineProbe.measure(o.machineBytes(), o.gemmSize(), 3);
        }
        long checkpointBytes = synthetic.totalBytes();
        return new BenchReport(new Measurements(o, full, main, one, projectorMs, peak, genMs, values, writeMs, reused,
                checkpointBytes, machine, loadStartAvg, MachineProbe.loadAverage(), towerMemory));
    }

    private static ConvLlava build(SyntheticModel model, WeightSource w, int layers, BenchOptions o) {
        int full = model.config().llm().numHiddenLayers();
        LoadOptions lo = new LoadOptions(Path.of(model.name()), null, Device.CPU, o.weightFormat(), 0, layers < full ? layers : 0,
                o.towerMemory());
        return ConvLlava.build(model.folder(), model.visionTower(), w, w, new SyntheticTokenizer(model.config().llm().vocabSize()),
                lo, LoadListener.NONE, () -> false);
    }

    /**
     * The scripted conversation: cold question, follow-up, pre-encoded question, the question read while
     * typed (pre-encode, then the draft without " ASSISTANT:", then the question), decode with attention
     * recorded.
     */
    static Run scenario(ConvLlava m, BenchOptions o, double loadMs, Consumer<String> log) {
        RgbImage image = syntheticImage(IMAGE_WIDTH, IMAGE_HEIGHT, o.seed());
        int n = o.decodeTokens();
        long start = System.nanoTime();
        PreprocessedImage pre = m.preprocessor().preprocess(image, CanvasMode.PAD);
        double preMs = ms(start);
        long v0 = System.nanoTime();
        try (ImageFeatures features = m.encodeImage(pre, "bench", () -> false)) {
            double visMs = ms(v0);
            log.accept(String.format("  vision encode %.0f ms (%d visual tokens)", visMs, features.tokens()));
            ConversationPrompt p1 = ConversationPrompt.imageQuestion(QUESTION);
            int[] ids1 = p1.inputIds(m.tokenizer());
            int capacity = conversationCapacity(ids1.length - 1 + features.tokens(), n); // the placeholder id becomes the image tokens
            GenerationResult first;
            double followTtft;
            int followNew;
            try (Conversation conv = m.newConversation(capacity)) {
                first = checked(m.generate(conv, ids1, features, GenerationConfig.greedy(n), TokenListener.NONE, () -> false,
                        new Timings(preMs, visMs, 0, 0, 0, 0), start));
                log.accept(String.format("  cold question: prefill %d tokens %.0f ms, first token at %.0f ms, %d tokens at %.2f tokens/s",
                        first.promptTokens(), first.timings().prefillMs(), first.timings().timeToFirstTokenMs(),
                        first.generatedIds().length, first.timings().decodeTokensPerSecond()));
                int[] ids2 = p1.withAnswer(first.text()).withTurn(Turn.pending(FOLLOW_UP)).inputIds(m.tokenizer());
                int cached = conv.cachedTokens();
                GenerationResult follow = checked(m.generate(conv, ids2, features, GenerationConfig.greedy(1), TokenListener.NONE,
                        () -> false, null, System.nanoTime()));
                followTtft = follow.timings().timeToFirstTokenMs();
                followNew = follow.promptTokens() - cached;
                log.accept(String.format("  follow-up: %d new tokens, first token at %.0f ms", followNew, followTtft));
            }
            double preencodeMs;
            GenerationResult preencoded;
            GenerationResult attention;
            int preencodedNew;
            try (Conversation conv = m.newConversation(capacity)) {
                long t = System.nanoTime();
                m.prefill(conv, p1.imagePrefixIds(m.tokenizer()), features, () -> false);
                preencodeMs = ms(t);
                int cached = conv.cachedTokens();
                preencoded = checked(m.generate(conv, ids1, features, GenerationConfig.greedy(1), TokenListener.NONE, () -> false,
                        null, System.nanoTime()));
                preencodedNew = preencoded.promptTokens() - cached;
                log.accept(String.format("  pre-encoded (%.0f ms ahead): question of %d new tokens, first token at %.0f ms", preencodeMs,
                        preencodedNew, preencoded.timings().timeToFirstTokenMs()));
                attention = checked(m.generate(conv, ids1, features, GenerationConfig.greedy(n).withRecordAttention(true),
                        TokenListener.NONE, () -> false, null, System.nanoTime()));
                log.accept(String.format("  decode with attention recorded: %.2f tokens/s", attention.timings().decodeTokensPerSecond()));
            }
            GenerationResult typed;
            try (Conversation conv = m.newConversation(capacity)) {
                m.prefill(conv, p1.imagePrefixIds(m.tokenizer()), features, () -> false);
                long t = System.nanoTime();
                int draftTokens = m.prefill(conv, p1.draftIds(m.tokenizer()), features, () -> false);
                double draftMs = ms(t);
                typed = checked(m.generate(conv, ids1, features, GenerationConfig.greedy(1), TokenListener.NONE, () -> false,
                        null, System.nanoTime()));
                log.accept(String.format("  read while typed (%d tokens, %.0f ms ahead): %d new tokens, first token at %.0f ms", draftTokens,
                        draftMs, typed.computedPromptTokens(), typed.timings().timeToFirstTokenMs()));
            }
            return new Run(m.numLayers(), m.weightFormat().name(), loadMs, preMs, visMs, features.tokens(), first.timings().prefillMs(),
                    first.promptTokens(), first.timings().timeToFirstTokenMs(), preencodeMs, preencoded.timings().timeToFirstTokenMs(),
                    preencodedNew, typed.timings().timeToFirstTokenMs(), typed.computedPromptTokens(), followTtft, followNew,
                    first.generatedIds().length, first.timings().decodeTokensPerSecond(), attention.timings().decodeTokensPerSecond(),
                    first.finishReason().name());
        }
    }

    /**
     * KV-cache positions each scripted conversation allocates: the first prompt, its answer and a
     * follow-up of about the answer's length, plus slack (BenchReport extrapolates memory from it).
     */
    static int conversationCapacity(int promptTokens, int decodeTokens) {
        return promptTokens + 1 + 2 * decodeTokens + 64;
    }

    private static GenerationResult checked(GenerationResult r) {
        if (r.error() != null) {
            throw new ConvLlavaException("generation failed during the benchmark: " + r.error());
        }
        return r;
    }

    /**
     * The engine's projector ({@link MlpProjector}) on its own, with the model's weights and format, on
     * random features of the model's token count: median of 3 after a warm-up.
     */
    static double projectorMs(SyntheticModel model, SyntheticWeights w, BenchOptions o, String format) {
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            Weights pw = new Weights(w, manager, ai.convllava.model.api.WeightFormat.valueOf(format), "projector", MlpProjector.keys(),
                    LoadListener.NONE, () -> false);
            MlpProjector projector = new MlpProjector(pw, model.tower().outputSize(), model.config().llm().hiddenSize());
            NDArray x = manager.randomNormal(new Shape(1, model.imageTokens(), model.tower().outputSize()));
            double[] times = new double[4];
            for (int i = 0; i < times.length; i++) {
                long t = System.nanoTime();
                projector.forward(x).close();
                times[i] = ms(t);
            }
            double[] timed = Arrays.copyOfRange(times, 1, times.length);
            Arrays.sort(timed);
            return timed[timed.length / 2];
        }
    }

    /** A deterministic photo-like image: smooth gradients plus noise. */
    public static RgbImage syntheticImage(int width, int height, long seed) {
        byte[] rgb = new byte[width * height * 3];
        long s = SyntheticWeights.mix(seed);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                s += 0x9E3779B97F4A7C15L;
                long r = SyntheticWeights.mix(s);
                int i = (y * width + x) * 3;
                rgb[i] = (byte) ((x * 255 / width + (r & 31)) & 0xff);
                rgb[i + 1] = (byte) ((y * 255 / height + ((r >>> 8) & 31)) & 0xff);
                rgb[i + 2] = (byte) (((x + y) * 127 / (width + height) + ((r >>> 16) & 63)) & 0xff);
            }
        }
        return new RgbImage(width, height, rgb);
    }

    static double ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }

    static String gb(long bytes) {
        return String.format("%.2f", bytes / 1e9);
    }
}
