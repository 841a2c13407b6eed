package ai.convllava.model.engine;

import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;

import ai.convllava.model.Goldens;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The float16-weight path (LLM and vision tower). bf16 checkpoint values are exact in float16
 * (fewer mantissa bits, and the tiny weights lie in float16's normal range), so the vision features
 * and prefill (weights upcast to float32 for many rows) must meet the float32 goldens; decode runs one
 * row in float16 and is compared on tokens.
 */
class HalfWeightsTest {
    @Test
    void f16WeightsReproduceTheGoldenPrefillAndGreedyTokens() {
        try (ConvLlava m = ModelLoader.load(LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU)
                .withWeightFormat(WeightFormat.F16), LoadListener.NONE, () -> false)) {
            assertEquals(WeightFormat.F16, m.weightFormat());
            PreprocessedImage ours = m.preprocessor().preprocess(ImageDecoder.decode(Goldens.TINY.resolve("images/wide.png")), CanvasMode.PAD);
            PreprocessedImage px = new PreprocessedImage(ours.canvas(), Goldens.floats("wide.pad.pixel_values"), ours.geometry());
            int[] ids = ConversationPrompt.imageQuestion("What is the tallest bar in this chart?").inputIds(m.tokenizer());
            // the tower's linears are float16 too: the bf16 weights are exact in it, so the features meet the golden
            float[] wantFeatures = Goldens.floats("wide.pad.vision_features");
            float[] gotFeatures = m.visionFeatures(px);
            double worstFeature = 0;
            for (int i = 0; i < wantFeatures.length; i++) {
                worstFeature = Math.max(worstFeature, Math.abs(wantFeatures[i] - gotFeatures[i]) / Math.max(1, Math.abs(wantFeatures[i])));
            }
            assertEquals(0, worstFeature, 1e-4, "vision features with f16-stored tower weights");
            try (ImageFeatures f = m.encodeImage(px, null, () -> false)) {
                float[] want = Goldens.floats("wide.pad.prefill_last_logits");
                float[] got;
                try (Conversation conv = m.newConversation(128)) {
                    got = m.prefillLogits(conv, ids, f);
                }
                double worst = 0;
                for (int i = 0; i < want.length; i++) {
                    worst = Math.max(worst, Math.abs(want[i] - got[i]) / Math.max(1, Math.abs(want[i])));
                }
                System.out.println("f16 weights: max prefill logit error " + worst);
                assertEquals(0, worst, 1e-4, "prefill logits with f16-stored weights");
                try (Conversation conv = m.newConversation(128)) {
                    GenerationResult r = m.generate(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false, null, System.nanoTime());
                    long[] golden = Goldens.longs("wide.pad.generated_ids");
                    int[] gen = r.generatedIds();
                    int same = 0;
                    while (same < gen.length && gen[same] == golden[same]) {
                        same++;
                    }
                    System.out.println("f16 decode: first " + same + " of 16 greedy tokens equal the float32 reference");
                    assertEquals(16, same, "greedy tokens with f16 decode");
                }
            }
        }
    }
}
