package ai.convllava.bench;

import ai.convllava.model.api.Turn;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.engine.ModelLoader;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.api.Device;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.nn.LinearLayer;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.tokenizer.ConversationPrompt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The Java float16 kernel against libtorch's paths in the engine (not a test: run by hand), A/B
 * interleaved in one JVM on the synthetic ConvLLaVA-1536 (tiny tower, same 576 image tokens) with 2
 * layers and with 1 layer, extrapolated to 32 layers as {@link Scaling} does:
 * <pre>
 * java --add-modules jdk.incubator.vector -Dai.djl.offline=true -cp model/target/test-classes:model/target/classes:$CP \
 *     ai.convllava.bench.HalfKernelEngineBench [reps] [decode tokens]
 * </pre>
 * Per round and mode: the image prefix is in the cache, then the question (17 new tokens, time to
 * first token), 8 decoded tokens (tokens/s), and a follow-up question (21 new tokens).
 */
public final class HalfKernelEngineBench {
    private HalfKernelEngineBench() {
    }

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int decode = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        SyntheticModel full = SyntheticModel.convLlava(1536).withTinyTower();
        int fullLayers = full.config().llm().numHiddenLayers();
        System.out.println("OMP_WAIT_POLICY=" + System.getenv("OMP_WAIT_POLICY") + ", Java kernel active: " + LinearLayer.halfKernelActive());
        double[][][] r = new double[2][][];
        try (SyntheticWeights w2 = new SyntheticWeights(full.withLlmLayers(2), 42); ConvLlava m2 = build(full, w2, 2);
             SyntheticWeights w1 = new SyntheticWeights(full.withLlmLayers(1), 42); ConvLlava m1 = build(full, w1, 1)) {
            ConvLlava[] models = {m2, m1};
            List<double[]>[][] runs = newRuns();
            for (int i = 0; i < models.length; i++) {
                ConvLlava m = models[i];
                try (ImageFeatures f = m.encodeImage(m.preprocessor().preprocess(BenchRunner.syntheticImage(1600, 1200, 42), CanvasMode.PAD),
                        "bench", () -> false); Conversation conv = m.newConversation(1024)) {
                    ConversationPrompt p = ConversationPrompt.imageQuestion(BenchRunner.QUESTION);
                    int[] prefix = p.imagePrefixIds(m.tokenizer());
                    int[] ids = p.inputIds(m.tokenizer());
                    m.prefill(conv, prefix, f, () -> false);
                    for (int rep = 0; rep < reps + 1; rep++) {
                        for (int mode = 0; mode < 2; mode++) {
                            boolean java = (mode + rep) % 2 == 0; // alternate which goes first
                            LinearLayer.setHalfKernelEnabled(java);
                            double[] q = round(m, conv, f, p, prefix, ids, decode);
                            if (rep > 0) { // round 0 warms up both
                                runs[i][java ? 1 : 0].add(q);
                            }
                            System.out.printf("  %d layer(s) %-8s pre-encoded %d tok %.0f ms, decode %.2f tok/s, follow-up %d tok %.0f ms%n", m.numLayers(),
                                    java ? "java" : "libtorch", (int) q[3], q[0], q[1], (int) q[4], q[2]);
                        }
                    }
                }
            }
            LinearLayer.setHalfKernelEnabled(true);
            String[] names = {"libtorch", "java"};
            for (int mode = 0; mode < 2; mode++) {
                double[] at2 = medians(runs[0][mode]);
                double[] at1 = medians(runs[1][mode]);
                double ttft = Scaling.extrapolate(at2[0], at1[0], 2, fullLayers);
                double tps = Scaling.extrapolateRate(at2[1], at1[1], 2, fullLayers);
                double follow = Scaling.extrapolate(at2[2], at1[2], 2, fullLayers);
                System.out.printf("%-8s 32 layers: pre-encoded TTFT %.2f s, follow-up TTFT %.2f s, decode %.2f tokens/s"
                                + "  (medians at 2 layers: %.0f ms, %.0f ms, %.2f tok/s; at 1 layer: %.0f ms, %.0f ms, %.2f tok/s)%n",
                        names[mode], ttft / 1000, follow / 1000, tps, at2[0], at2[2], at2[1], at1[0], at1[2], at1[1]);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static List<double[]>[][] newRuns() {
        List<double[]>[][] runs = new List[2][2];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 2; j++) {
                runs[i][j] = new ArrayList<>();
            }
        }
        return runs;
    }

    /** {pre-encoded TTFT ms, decode tokens/s, follow-up TTFT ms, new tokens, follow-up new tokens}. */
    private static double[] round(ConvLlava m, Conversation conv, ImageFeatures f, ConversationPrompt p, int[] prefix, int[] ids, int decode) {
        // back to the image prefix: a prompt that leaves it after one token of its own makes the cache keep
        // exactly the prefix (a prefill of the prefix alone would keep the whole earlier round as well)
        int[] rewind = Arrays.copyOf(prefix, prefix.length + 1);
        rewind[prefix.length] = ids[prefix.length] + 1;
        m.prefill(conv, rewind, f, () -> false);
        int cached = conv.cachedTokens() - 1;
        GenerationResult q = m.generate(conv, ids, f, GenerationConfig.greedy(1), TokenListener.NONE, () -> false, null, System.nanoTime());
        int fresh = q.promptTokens() - cached;
        GenerationResult d = m.generate(conv, ids, f, GenerationConfig.greedy(decode), TokenListener.NONE, () -> false, null, System.nanoTime());
        int[] ids2 = p.withAnswer(d.text()).withTurn(Turn.pending(BenchRunner.FOLLOW_UP)).inputIds(m.tokenizer());
        int before = conv.cachedTokens();
        GenerationResult fu = m.generate(conv, ids2, f, GenerationConfig.greedy(1), TokenListener.NONE, () -> false, null, System.nanoTime());
        return new double[] {q.timings().timeToFirstTokenMs(), d.timings().decodeTokensPerSecond(), fu.timings().timeToFirstTokenMs(), fresh,
                fu.promptTokens() - before};
    }

    private static double[] medians(List<double[]> rows) {
        double[] m = new double[3];
        for (int c = 0; c < 3; c++) {
            List<Double> v = new ArrayList<>();
            for (double[] row : rows) {
                v.add(row[c]);
            }
            Collections.sort(v);
            m[c] = v.get(v.size() / 2);
        }
        return m;
    }

    private static ConvLlava build(SyntheticModel model, SyntheticWeights w, int layers) {
        LoadOptions lo = LoadOptions.ofSource(new SyntheticSource(model, w)).withWeightFormat(WeightFormat.F16).withLayerLimit(layers);
        return ModelLoader.load(lo, LoadListener.NONE, () -> false);
    }
}
