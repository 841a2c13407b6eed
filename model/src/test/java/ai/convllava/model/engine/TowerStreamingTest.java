package ai.convllava.model.engine;

import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.TowerMemory;

import ai.convllava.model.Goldens;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.reliability.MemoryEstimate;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A streamed vision tower (block weights read for each image and freed after) must see exactly what
 * the resident one sees, leave nothing behind, and be what AUTO picks when only it fits.
 */
class TowerStreamingTest {
    private static LoadOptions tiny(WeightFormat f, TowerMemory t) {
        return LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU).withWeightFormat(f).withTowerMemory(t);
    }

    @AfterEach
    void clear() {
        System.clearProperty("convllava.availableMemory");
    }

    private static PreprocessedImage goldenPixels(ConvLlava m) {
        PreprocessedImage ours = m.preprocessor().preprocess(ImageDecoder.decode(Goldens.TINY.resolve("images/wide.png")), CanvasMode.PAD);
        return new PreprocessedImage(ours.canvas(), Goldens.floats("wide.pad.pixel_values"), ours.geometry());
    }

    @Test
    void streamedTowerGivesTheGoldenFeaturesAndTokensAndFreesEachBlock() {
        for (WeightFormat f : WeightFormat.values()) {
            java.util.Map<String, long[]> last = new java.util.HashMap<>(); // stage -> done, total, bytes done, bytes total
            LoadListener progress = (stage, done, total, bytes, bytesTotal) -> last.put(stage, new long[] {done, total, bytes, bytesTotal});
            try (ConvLlava m = ModelLoader.load(tiny(f, TowerMemory.STREAMED), progress, () -> false)) {
                for (var e : last.entrySet()) {
                    long[] p = e.getValue();
                    assertEquals(p[1], p[0], e.getKey() + ": every planned tensor is counted, the streamed embeddings too");
                    assertEquals(p[3], p[2], e.getKey() + ": bytes");
                }
                assertEquals(TowerMemory.STREAMED, m.towerMemory());
                assertTrue(m.embeddingsStreamed(), "a streamed model reads its token embeddings per token");
                assertTrue(m.unusedKeys().isEmpty(), "streamed blocks were read (validated) at load: " + m.unusedKeys());
                PreprocessedImage px = goldenPixels(m);
                long live = m.liveArrayCount();
                float[] want = Goldens.floats("wide.pad.vision_features");
                for (int pass = 0; pass < 2; pass++) {
                    float[] got = m.visionFeatures(px);
                    double worst = 0;
                    for (int i = 0; i < want.length; i++) {
                        worst = Math.max(worst, Math.abs(want[i] - got[i]) / Math.max(1, Math.abs(want[i])));
                    }
                    assertEquals(0, worst, 1e-4, f + " streamed vision_features, pass " + pass);
                    assertEquals(live, m.liveArrayCount(), "block weights are freed after each image");
                }
                int[] ids = ConversationPrompt.imageQuestion("What is the tallest bar in this chart?").inputIds(m.tokenizer());
                try (ImageFeatures feats = m.encodeImage(px, null, () -> false); Conversation conv = m.newConversation(128)) {
                    GenerationResult r = m.generate(conv, ids, feats, GenerationConfig.greedy(16), TokenListener.NONE, () -> false, null,
                            System.nanoTime());
                    long[] golden = Goldens.longs("wide.pad.generated_ids");
                    int[] want16 = new int[16];
                    for (int i = 0; i < 16; i++) {
                        want16[i] = (int) golden[i];
                    }
                    assertArrayEquals(want16, r.generatedIds(), f + " greedy tokens with a streamed tower");
                }
            }
        }
    }

    @Test
    void cancellingAStreamedEncodeLeavesNothingBehind() {
        try (ConvLlava m = ModelLoader.load(tiny(WeightFormat.F32, TowerMemory.STREAMED), LoadListener.NONE, () -> false)) {
            PreprocessedImage px = goldenPixels(m);
            long live = m.liveArrayCount();
            AtomicInteger polls = new AtomicInteger();
            assertThrows(CancellationException.class, () -> m.encodeImage(px, null, () -> polls.incrementAndGet() > 3));
            assertEquals(live, m.liveArrayCount());
            try (ImageFeatures f = m.encodeImage(px, null, () -> false)) {
                assertEquals(m.visionFeatures(px).length / m.visionTower().config().outputSize(), f.tokens());
            }
        }
    }

    @Test
    void autoStreamsTheTowerWhenOnlyThatFits() {
        ConvLlava probe = ModelLoader.load(tiny(WeightFormat.F32, TowerMemory.RESIDENT), LoadListener.NONE, () -> false);
        MemoryEstimate resident;
        MemoryEstimate streamed;
        try (probe) {
            assertEquals(TowerMemory.RESIDENT, probe.towerMemory());
            int context = Math.min(ConvLlava.INITIAL_CONTEXT, probe.config().llm().maxPositionEmbeddings());
            resident = MemoryEstimate.of(probe.config().llm(), probe.config().mmHiddenSize(), probe.visionTower().config(),
                    probe.preprocessor().canvasSide(), WeightFormat.F32, context, false);
            streamed = MemoryEstimate.of(probe.config().llm(), probe.config().mmHiddenSize(), probe.visionTower().config(),
                    probe.preprocessor().canvasSide(), WeightFormat.F32, context, true);
        }
        assertTrue(streamed.totalBytes() < resident.totalBytes());
        System.setProperty("convllava.availableMemory", String.valueOf(resident.totalBytes()));
        try (ConvLlava m = ModelLoader.load(tiny(WeightFormat.F32, TowerMemory.AUTO), LoadListener.NONE, () -> false)) {
            assertEquals(TowerMemory.RESIDENT, m.towerMemory(), "everything fits: resident");
            assertTrue(!m.embeddingsStreamed(), "a resident model keeps its token embeddings");
        }
        System.setProperty("convllava.availableMemory", String.valueOf(streamed.totalBytes()));
        try (ConvLlava m = ModelLoader.load(tiny(WeightFormat.F32, TowerMemory.AUTO), LoadListener.NONE, () -> false)) {
            assertEquals(TowerMemory.STREAMED, m.towerMemory(), "only the streamed tower fits");
            assertEquals(0, m.visionFeatures(goldenPixels(m)).length % m.visionTower().config().outputSize());
        }
    }
}
