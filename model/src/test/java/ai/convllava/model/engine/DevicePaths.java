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
