package ai.convllava.model.engine;

import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;

import ai.convllava.model.Goldens;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.tokenizer.ConversationPrompt;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The engine against the Python reference (transformers + PIL) on the tiny ConvLLaVA, for both
 * checkpoint layouts, both images and both canvas modes. Tolerance 1e-4, absolute, or relative for
 * values above 1 (the rule); never loosened.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GoldenFidelityTest {
    static final double TOL = 1e-4;
    static final Path TINY = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures"), "tiny");

    final Map<String, ConvLlava> models = new HashMap<>();
    JsonNode golden;

    @BeforeAll
    void load() throws IOException {
        golden = new ObjectMapper().readTree(TINY.resolve("golden.json").toFile());
        for (String folder : List.of("tiny-convllava", "tiny-convllava-safetensors")) {
            models.put(folder, ModelLoader.load(LoadOptions.of(TINY.resolve(folder)).withWeightFormat(WeightFormat.F32).withDevice(Device.CPU),
                    LoadListener.NONE, () -> false));
        }
    }

    @AfterAll
    void close() {
        models.values().forEach(ConvLlava::close);
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String folder : List.of("tiny-convllava", "tiny-convllava-safetensors")) {
            for (String image : List.of("wide", "tall")) {
                for (String mode : List.of("pad", "native")) {
                    out.add(Arguments.of(folder, image, mode));
                }
            }
        }
        return out.stream();
    }

    /** Golden pixel values wrapped as our preprocessed image (geometry from our own preprocessor). */
    PreprocessedImage goldenPixels(ConvLlava m, String image, String mode) {
        PreprocessedImage ours = m.preprocessor().preprocess(ImageDecoder.decode(TINY.resolve("images").resolve(image + ".png")),
                CanvasMode.valueOf(mode.toUpperCase()));
        float[] px = Goldens.floats(image + "." + mode + ".pixel_values");
        assertEquals(ours.pixelValues().length, px.length, "canvas size differs from the reference");
        return new PreprocessedImage(ours.canvas(), px, ours.geometry());
    }

    int[] promptIds(ConvLlava m) {
        return ConversationPrompt.imageQuestion("What is the tallest bar in this chart?").inputIds(m.tokenizer());
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void visionFeaturesProjectedAndEmbeds(String folder, String image, String mode) {
        ConvLlava m = models.get(folder);
        PreprocessedImage px = goldenPixels(m, image, mode);
        String k = image + "." + mode + ".";
        assertClose(Goldens.floats(k + "vision_features"), m.visionFeatures(px), k + "vision_features");
        try (ImageFeatures f = m.encodeImage(px, null, () -> false)) {
            assertEquals(Goldens.shape(k + "projected")[1], f.tokens());
            assertClose(Goldens.floats(k + "projected"), f.toFloatArray(), k + "projected");
            int[] ids = promptIds(m);
            assertArrayEquals(toInts(golden.get("input_ids")), ids);
            assertClose(Goldens.floats(k + "inputs_embeds"), m.inputsEmbeds(ids, f), k + "inputs_embeds");
        }
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void prefillLogitsAttentionAndGreedyTokens(String folder, String image, String mode) {
        ConvLlava m = models.get(folder);
        PreprocessedImage px = goldenPixels(m, image, mode);
        String k = image + "." + mode + ".";
        int[] ids = promptIds(m);
        List<float[]> firstLogits = new ArrayList<>();
        try (ImageFeatures f = m.encodeImage(px, null, () -> false); Conversation conv = m.newConversation(128)) {
            GenerationResult r = m.generate(conv, ids, f, GenerationConfig.greedy(16).withRecordAttention(true), TokenListener.NONE,
                    () -> false, null, System.nanoTime());
            assertEquals(FinishReason.LENGTH, r.finishReason(), String.valueOf(r.error()));
            long[] want = Goldens.longs(k + "generated_ids");
            int[] got = r.generatedIds();
            assertEquals(want.length, got.length);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], "generated token " + i);
            }
            float[][] att = r.imageAttention().get(0);
            long[] shape = Goldens.shape(k + "image_attention");
            assertEquals(shape[0], att.length);
            float[] flat = new float[(int) (shape[0] * shape[1])];
            for (int l = 0; l < att.length; l++) {
                assertEquals(shape[1], att[l].length);
                System.arraycopy(att[l], 0, flat, (int) (l * shape[1]), att[l].length);
            }
            assertClose(Goldens.floats(k + "image_attention"), flat, k + "image_attention");
            assertEquals(golden.get("generated").get(image + "." + mode).get("text").asText(), r.text());
        }
        // the prefill logits, from a fresh conversation: prefill only, read the first logits
        try (ImageFeatures f = m.encodeImage(px, null, () -> false); Conversation conv = m.newConversation(128)) {
            firstLogits.add(m.prefillLogits(conv, ids, f));
        }
        assertClose(Goldens.floats(k + "prefill_last_logits"), firstLogits.get(0), k + "prefill_last_logits");
    }

    static int[] toInts(JsonNode arr) {
        int[] out = new int[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asInt();
        }
        return out;
    }

    static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + " length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(want[i] - got[i]);
            double allowed = TOL * Math.max(1.0, Math.abs(want[i]));
            if (!(err <= allowed)) {
                fail(what + "[" + i + "]: expected " + want[i] + " got " + got[i] + " (|diff| " + err + " > " + allowed + ")");
            }
            if (err > worst) {
                worst = err;
                at = i;
            }
        }
        assertTrue(worst <= TOL * Math.max(1, Math.abs(want[Math.max(at, 0)])));
    }
}
