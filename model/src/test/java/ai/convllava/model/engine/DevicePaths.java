package ai.convllava.model.engine;

import ai.convllava.model.Goldens;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.generate.Sampler;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.tokenizer.ConversationPrompt;

import java.util.ArrayList;
import java.util.List;

/**
 * What the device-path tests compare, on the tiny fixture model: multi-turn conversations about both
 * fixture images (each turn's answer goes into the next turn's prompt, the cache reused), and the logits
 * of a model fed a fixed token sequence position by position (teacher forcing: the same inputs for both
 * models, so a logit difference is the precision's alone).
 */
final class DevicePaths {
    static final List<String> IMAGES = List.of("wide.png", "tall.png");
    static final List<String> QUESTIONS = List.of("What is the tallest bar in this chart?", "And the shortest?", "What colour is it?");
    static final int TOKENS_PER_TURN = 12;

    private DevicePaths() {
    }

    static LoadOptions tiny() {
        return LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU);
    }

    static ConvLlava load(LoadOptions o) {
        return ModelLoader.load(o, LoadListener.NONE, () -> false);
    }

    static ConvLlava cpu() {
        return load(tiny().withWeightFormat(WeightFormat.F32));
    }

    /** The device path on the CPU device: float32 for F32, else float16. */
    static ConvLlava devicePath(WeightFormat f) {
        return load(tiny().withDevicePathOnCpu(true).withWeightFormat(f));
    }

    static PreprocessedImage image(ConvLlava m, String name) {
        return m.preprocessor().preprocess(ImageDecoder.decode(Goldens.TINY.resolve("images/" + name)), CanvasMode.PAD);
    }

    /** The generated ids of every turn, image by image, in one conversation per image. */
    static List<int[]> conversations(ConvLlava m, GenerationConfig cfg) {
        List<int[]> out = new ArrayList<>();
        for (String name : IMAGES) {
            try (ImageFeatures f = m.encodeImage(image(m, name), name, () -> false); Conversation conv = m.newConversation(256)) {
                ConversationPrompt p = ConversationPrompt.imageQuestion(QUESTIONS.get(0));
                for (int turn = 0; turn < QUESTIONS.size(); turn++) {
                    if (turn > 0) {
                        p = p.withTurn(Turn.pending(QUESTIONS.get(turn)));
                    }
                    GenerationResult r = m.generate(conv, p.inputIds(m.tokenizer()), f, cfg, TokenListener.NONE, () -> false, null,
                            System.nanoTime());
                    if (r.error() != null) {
                        throw new AssertionError(name + " turn " + turn + ": " + r.error());
                    }
                    out.add(r.generatedIds());
                    p = p.withAnswer(r.text());
                }
            }
        }
        return out;
    }

    /**
     * Float16 against float32 on the fixture: the logits' worst absolute difference at the prefill and at the
     * decode steps (teacher-forced on the float32 model's first answers), how often the argmax agrees there, and
     * how many free-running greedy tokens agree up to each turn's first difference.
     */
    record HalfVsFloat32(double worstPrefill, double worstDecode, double largestLogit, int argmaxSame, int steps, int samePrefix,
                         int tokens) {
        String describe() {
            return String.format("max |logit error| prefill %.4g, decode %.4g (largest |logit| %.3g); teacher-forced argmax agreement"
                    + " %d of %d; free-running greedy tokens equal up to each turn's first difference: %d of %d", worstPrefill, worstDecode,
                    largestLogit, argmaxSame, steps, samePrefix, tokens);
        }
    }

    static HalfVsFloat32 halfVsFloat32(ConvLlava float32, ConvLlava half) {
        int[] prompt = ConversationPrompt.imageQuestion(QUESTIONS.get(0)).inputIds(float32.tokenizer());
        GenerationConfig greedy = GenerationConfig.greedy(TOKENS_PER_TURN);
        List<int[]> fullTurns = conversations(float32, greedy);
        List<int[]> halfTurns = conversations(half, greedy);
        double worstPrefill = 0;
        double worstDecode = 0;
        double scale = 0;
        int steps = 0;
        int argmaxSame = 0;
        for (int i = 0; i < IMAGES.size(); i++) {
            int[] answer = fullTurns.get(i * QUESTIONS.size());
            List<float[]> full = teacherForced(float32, IMAGES.get(i), prompt, answer);
            List<float[]> halves = teacherForced(half, IMAGES.get(i), prompt, answer);
            for (int s = 0; s < full.size(); s++) {
                float[] a = full.get(s);
                float[] b = halves.get(s);
                double worst = 0;
                for (int v = 0; v < a.length; v++) {
                    worst = Math.max(worst, Math.abs(a[v] - b[v]));
                    scale = Math.max(scale, Math.abs(a[v]));
                }
                if (s == 0) {
                    worstPrefill = Math.max(worstPrefill, worst);
                } else {
                    worstDecode = Math.max(worstDecode, worst);
                }
                steps++;
                argmaxSame += Sampler.argmax(a) == Sampler.argmax(b) ? 1 : 0;
            }
        }
        int tokens = 0;
        int samePrefix = 0;
        for (int i = 0; i < fullTurns.size(); i++) {
            int[] a = fullTurns.get(i);
            int[] b = halfTurns.get(i);
            int same = 0;
            while (same < Math.min(a.length, b.length) && a[same] == b[same]) {
                same++;
            }
            samePrefix += same;
            tokens += a.length;
        }
        return new HalfVsFloat32(worstPrefill, worstDecode, scale, argmaxSame, steps, samePrefix, tokens);
    }

    /**
     * Logits after each prefix of {@code prompt + continuation}, from {@code prompt.length} on: the first
     * is the prompt's prefill, each next one a single-position step (decode) over the cache.
     */
    static List<float[]> teacherForced(ConvLlava m, String imageName, int[] prompt, int[] continuation) {
        List<float[]> out = new ArrayList<>();
        try (ImageFeatures f = m.encodeImage(image(m, imageName), imageName, () -> false); Conversation conv = m.newConversation(256)) {
            int[] ids = java.util.Arrays.copyOf(prompt, prompt.length + continuation.length);
            System.arraycopy(continuation, 0, ids, prompt.length, continuation.length);
            for (int n = prompt.length; n <= ids.length; n++) {
                out.add(m.prefillLogits(conv, java.util.Arrays.copyOf(ids, n), f));
            }
        }
        return out;
    }
}
