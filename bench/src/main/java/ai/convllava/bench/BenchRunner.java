package ai.convllava.bench;

import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.DraftResult;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.ImageTask;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.PreEncoding;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.diagnostics.MachineProbe;
import ai.convllava.model.spi.WeightSource;
import ai.convllava.model.spi.WeightSources;

import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * Runs the benchmark: a synthetic ConvLLaVA (weights generated on the fly, or read back from a
 * synthetic checkpoint written once) loaded into a {@link VisionChatSession}, the session the app uses,
 * asked the scripted conversation, each stage measured from the session's own timings. With fewer layers than the model has, the same conversation also runs on a one-layer model
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
                      int decodeTokensGenerated, double decodeTokensPerS, double decodeTokensPerSAttention, String finishReason,
                      double projectorMs, String towerMemory, long loadPeakRssBytes, long conversationPeakRssBytes,
                      boolean conversationPeakOnly, String device, List<PhaseMemory.Peak> phases) {
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
        // one-time costs, which the extrapolation q(32) = q(N) + (32 - N)(q(N) - q(1))/(N - 1) would
        // multiply by (32 - N)/(N - 1) (docs/bench/README.md).
        Run one = null;
        if (layers < fullLayers) {
            SyntheticModel calib = full.withTinyTower().withLlmLayers(1);
            log.accept("calibrating: the same conversation on one decoder layer (tiny tower, same canvas), once to warm up");
            for (int pass = 0; pass < 2; pass++) {
                try (SyntheticWeights w = new SyntheticWeights(calib, o.seed())) {
                    one = scenario(new SyntheticSource(full.withTinyTower(), w), 1, o, pass == 0 ? s -> { } : log); // the second pass's is kept
                }
            }
        }
        long genBefore = synthetic.generationNanos();
        long valuesBefore = synthetic.valuesGenerated();
        WeightSource source = o.fromDisk() != null ? WeightSources.open(o.fromDisk()) : synthetic;
        Run main;
        try {
            log.accept("loading " + full.name() + " with " + layers + " of " + fullLayers + " decoder layers from " + source.describe());
            main = scenario(new SyntheticSource(full, source), layers, o, log);
        } finally {
            if (source != synthetic) {
                source.close();
            }
        }
        long peak = main.conversationPeakRssBytes();
        double genMs = (synthetic.generationNanos() - genBefore) / 1e6;
        long values = synthetic.valuesGenerated() - valuesBefore;

        MachineProbe.Machine machine = null;
        if (o.machineBytes() > 0) {
            log.accept("measuring memory bandwidth and GEMM throughput");
            machine = MachineProbe.measure(o.machineBytes(), o.gemmSize(), 3);
        }
        long checkpointBytes = synthetic.totalBytes();
        return new BenchReport(new Measurements(o, full, main, one, main.projectorMs(), peak, genMs, values, writeMs, reused,
                checkpointBytes, machine, loadStartAvg, MachineProbe.loadAverage(), main.towerMemory()));
    }

    /**
     * The scripted conversation through a session, as the app runs it: the question about a pre-encoded
     * image, decode with attention recorded, the question read while typed (pre-encode, then the draft
     * without " ASSISTANT:", then the question), then a cold question about another image of the same
     * size (encode and the whole prompt at once) and a follow-up.
     */
    static Run scenario(SyntheticSource source, int layers, BenchOptions o, Consumer<String> log) {
        int full = source.config().llm().numHiddenLayers();
        LoadOptions lo = LoadOptions.ofSource(source).withWeightFormat(o.weightFormat()).withTowerMemory(o.towerMemory())
                .withLayerLimit(layers < full ? layers : 0).withDevice(o.device()).withDevicePathOnCpu(o.devicePathOnCpu())
                .withContextTokens(o.contextTokens());
        int n = o.decodeTokens();
        try (VisionChatSession session = VisionChatSession.local()) {
            MachineProbe.resetPeakRss(); // the load's peak without what an earlier run left at its peak
            long loadStart = System.nanoTime();
            ModelInfo info = session.loadModel(lo, ProgressListener.NONE).join();
            double loadMs = ms(loadStart);
            log.accept(String.format("  loaded in %.1f s (%s LLM weights) on %s", loadMs / 1000, info.weightFormat(), info.device()));
            // the memory target is a conversation's peak: the load's own (widening, quantizing) is reported apart
            long loadPeak = MachineProbe.peakRssBytes();
            boolean peakReset = MachineProbe.resetPeakRss();
            ChatRequest question = ChatRequest.question(QUESTION, GenerationConfig.greedy(1));
            PhaseMemory memory = new PhaseMemory();

            PreEncoding encoded = memory.measure("pre-encode (vision encode, image prefix read)",
                    () -> encoded(session.setImage(syntheticImage(IMAGE_WIDTH, IMAGE_HEIGHT, o.seed()), CanvasMode.PAD)));
            log.accept(String.format("  vision encode %.0f ms (projector %.0f ms); image prefix of %d tokens read in %.0f ms",
                    encoded.visionEncodeMs(), encoded.projectorMs(), encoded.prefixTokens(), encoded.prefillMs()));
            GenerationResult preencoded = memory.measure("question after pre-encoding", () -> checked(session.ask(question, AnswerListener.NONE).join()));
            log.accept(String.format("  pre-encoded: question of %d new tokens, first token at %.0f ms", preencoded.computedPromptTokens(),
                    preencoded.timings().timeToFirstTokenMs()));
            GenerationResult attention = memory.measure("decode with attention recorded", () -> checked(session.ask(ChatRequest.question(QUESTION,
                    GenerationConfig.greedy(n).withRecordAttention(true)), AnswerListener.NONE).join()));
            log.accept(String.format("  decode with attention recorded: %.2f tokens/s", attention.timings().decodeTokensPerSecond()));

            session.newConversation();
            DraftResult draft = memory.measure("draft read while typed", () -> {
                encoded(session.setImage(syntheticImage(IMAGE_WIDTH, IMAGE_HEIGHT, o.seed()), CanvasMode.PAD)); // features kept, prefix read again
                return session.readDraft(ChatRequest.draft(List.of(Turn.pending(QUESTION)), null)).join();
            });
            GenerationResult typed = memory.measure("question after the draft", () -> checked(session.ask(question, AnswerListener.NONE).join()));
            log.accept(String.format("  read while typed (%d tokens ahead): %d new tokens, first token at %.0f ms", draft.computedTokens(),
                    typed.computedPromptTokens(), typed.timings().timeToFirstTokenMs()));

            session.newConversation();
            GenerationResult first = memory.measure("cold question (vision encode, whole prompt, decode)", () -> {
                session.setImage(syntheticImage(IMAGE_WIDTH, IMAGE_HEIGHT, o.seed() + 1), CanvasMode.PAD, false).join();
                return checked(session.ask(ChatRequest.question(QUESTION, GenerationConfig.greedy(n)), AnswerListener.NONE).join());
            });
            Timings t = first.timings();
            double coldTtft = t.preprocessMs() + t.timeToFirstTokenMs(); // from the image given to its first answer token
            log.accept(String.format("  cold question: vision %.0f ms, prefill %d tokens %.0f ms, first token at %.0f ms, %d tokens at %.2f tokens/s",
                    t.visionEncodeMs(), first.promptTokens(), t.prefillMs(), coldTtft, first.generatedIds().length, t.decodeTokensPerSecond()));
            GenerationResult follow = memory.measure("follow-up", () -> checked(session.ask(new ChatRequest(List.of(new Turn(QUESTION, first.text()),
                    Turn.pending(FOLLOW_UP)), null, GenerationConfig.greedy(1)), AnswerListener.NONE).join()));
            log.accept(String.format("  follow-up: %d new tokens, first token at %.0f ms", follow.computedPromptTokens(),
                    follow.timings().timeToFirstTokenMs()));

            return new Run(info.layers(), info.weightFormat().name(), loadMs, t.preprocessMs(), t.visionEncodeMs(), first.imageTokens(),
                    t.prefillMs(), first.promptTokens(), coldTtft, encoded.prefillMs(), preencoded.timings().timeToFirstTokenMs(),
                    preencoded.computedPromptTokens(), typed.timings().timeToFirstTokenMs(), typed.computedPromptTokens(),
                    follow.timings().timeToFirstTokenMs(), follow.computedPromptTokens(), first.generatedIds().length,
                    t.decodeTokensPerSecond(), attention.timings().decodeTokensPerSecond(), first.finishReason().name(),
                    encoded.projectorMs(), info.visionTower().contains("read for each new image") ? "STREAMED" : "RESIDENT",
                    loadPeak, peakReset ? memory.conversationPeak() : MachineProbe.peakRssBytes(), peakReset, info.device(), memory.peaks());
        }
    }

    /**
     * KV-cache positions the session's conversation holds after {@code positions}: it starts with the
     * {@code reserved} positions, or {@link VisionChatSession#INITIAL_CACHE_TOKENS}, and doubles (BenchReport extrapolates memory from it).
     */
    static int cacheCapacity(int positions, int reserved) {
        int c = reserved > 0 ? reserved : VisionChatSession.INITIAL_CACHE_TOKENS;
        while (c < positions) {
            c *= 2;
        }
        return c;
    }

    private static PreEncoding encoded(ImageTask image) {
        PreEncoding p = image.encoded().join();
        if (p.outcome() != PreEncoding.Outcome.ENCODED) {
            throw new ConvLlavaException("pre-encoding failed during the benchmark: " + p.outcome() + " (" + p.reason() + ")");
        }
        return p;
    }

    private static GenerationResult checked(GenerationResult r) {
        if (r.error() != null) {
            throw new ConvLlavaException("generation failed during the benchmark: " + r.error());
        }
        return r;
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
