package ai.convllava.model.engine;

import ai.convllava.model.api.Turn;
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
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cancellation, seeded sampling, cache reuse and memory behaviour of generation on the tiny model. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GenerationBehaviourTest {
    static final Path TINY = Goldens.TINY;
    ConvLlava m;
    PreprocessedImage wide;
    int[] ids;

    @BeforeAll
    void load() {
        m = ModelLoader.load(LoadOptions.of(TINY.resolve("tiny-convllava")).withDevice(Device.CPU), LoadListener.NONE, () -> false);
        wide = m.preprocessor().preprocess(ImageDecoder.decode(TINY.resolve("images/wide.png")), CanvasMode.PAD);
        ids = ConversationPrompt.imageQuestion("What is the tallest bar in this chart?").inputIds(m.tokenizer());
    }

    @AfterAll
    void close() {
        m.close();
    }

    GenerationResult run(Conversation conv, int[] prompt, ImageFeatures f, GenerationConfig cfg, TokenListener l,
                         java.util.function.BooleanSupplier cancel) {
        return m.generate(conv, prompt, f, cfg, l, cancel, null, System.nanoTime());
    }

    long[] golden() {
        return Goldens.longs("wide.pad.generated_ids");
    }

    static int[] toInt(long[] v) {
        int[] o = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            o[i] = (int) v[i];
        }
        return o;
    }

    @Test
    void cancellationMidGenerationReturnsCancelledAndTheNextRequestWorks() {
        try (ImageFeatures f = m.encodeImage(wide, null, () -> false); Conversation conv = m.newConversation(256)) {
            AtomicInteger tokens = new AtomicInteger();
            GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(400), (id, d) -> tokens.incrementAndGet(),
                    () -> tokens.get() >= 5);
            assertEquals(FinishReason.CANCELLED, r.finishReason());
            assertEquals(5, r.generatedIds().length);
            GenerationResult again = run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false);
            assertEquals(FinishReason.LENGTH, again.finishReason());
            assertArrayEquals(toInt(golden()), again.generatedIds());
        }
    }

    @Test
    void cancellingBeforeTheFirstTokenLeavesTheConversationUsable() {
        try (ImageFeatures f = m.encodeImage(wide, null, () -> false); Conversation conv = m.newConversation(256)) {
            GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> true);
            assertEquals(FinishReason.CANCELLED, r.finishReason());
            assertEquals(0, r.generatedIds().length);
            assertArrayEquals(toInt(golden()), run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false).generatedIds());
        }
    }

    @Test
    void theCacheGrowsDuringPrefillAndDecodeWithoutChangingTheAnswer() {
        try (ImageFeatures f = m.encodeImage(wide, null, () -> false); Conversation conv = m.newConversation(16)) {
            GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false);
            assertArrayEquals(toInt(golden()), r.generatedIds(), String.valueOf(r.error()));
            GenerationResult longer = run(conv, ids, f, GenerationConfig.greedy(100), TokenListener.NONE, () -> false);
            assertEquals(100, longer.generatedIds().length, String.valueOf(longer.error()));
        }
    }

    @Test
    void samplingWithAFixedSeedIsReproducibleAndDiffersFromGreedy() {
        GenerationConfig sampled = new GenerationConfig(24, 0.9, 0.95, 40, 1.1, 1234L, false);
        try (ImageFeatures f = m.encodeImage(wide, null, () -> false)) {
            int[] a;
            int[] b;
            int[] c;
            try (Conversation conv = m.newConversation(256)) {
                a = run(conv, ids, f, sampled, TokenListener.NONE, () -> false).generatedIds();
            }
            try (Conversation conv = m.newConversation(256)) {
                b = run(conv, ids, f, sampled, TokenListener.NONE, () -> false).generatedIds();
            }
            try (Conversation conv = m.newConversation(256)) {
                c = run(conv, ids, f, new GenerationConfig(24, 0.9, 0.95, 40, 1.1, 99L, false), TokenListener.NONE, () -> false).generatedIds();
            }
            assertEquals(24, a.length);
            assertArrayEquals(a, b);
            assertNotEquals(List.of(a), List.of(c), "a different seed should give a different sample");
            int[] greedy = toInt(golden());
            boolean differs = false;
            for (int i = 0; i < greedy.length; i++) {
                differs |= greedy[i] != a[i];
            }
            assertTrue(differs, "temperature sampling produced exactly the greedy answer");
        }
    }

    @Test
    void preEncodedPrefixThenQuestionGivesTheColdRunsTokens() {
        try (ImageFeatures f = m.encodeImage(wide, "wide", () -> false); Conversation conv = m.newConversation(256)) {
            m.prefill(conv, ConversationPrompt.imageQuestion("x").imagePrefixIds(m.tokenizer()), f, () -> false);
            int prefixTokens = conv.cachedTokens();
            assertEquals(34 + 16, prefixTokens, "BOS + system + USER: + 16 visual tokens");
            GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false);
            assertArrayEquals(toInt(golden()), r.generatedIds());
        }
    }

    @Test
    void aQuestionPrefilledWhileTypedIsReusedAndGivesTheColdRunsTokens() {
        String q = "What is the tallest bar in this chart?";
        try (ImageFeatures f = m.encodeImage(wide, "wide", () -> false); Conversation conv = m.newConversation(256)) {
            GenerationResult cold = run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false);
            assertEquals(0, cold.reusedPromptTokens());
            assertEquals(cold.promptTokens(), cold.computedPromptTokens());
            conv.reset();
            m.prefill(conv, ConversationPrompt.imageQuestion("x").imagePrefixIds(m.tokenizer()), f, () -> false);
            int prefix = conv.cachedTokens();
            // typed, edited, then finished: each draft only computes what changed
            int[] typing = ConversationPrompt.imageQuestion("What is the smallest").draftIds(m.tokenizer());
            assertEquals(typing.length - 1 + 16 - prefix, m.prefill(conv, typing, f, () -> false));
            int[] draft = ConversationPrompt.imageQuestion(q).draftIds(m.tokenizer());
            int computed = m.prefill(conv, draft, f, () -> false);
            assertTrue(computed < draft.length - 1 + 16 - prefix, "the common start of the two drafts was kept: " + computed);
            int held = conv.cachedTokens();
            assertEquals(draft.length - 1 + 16, held);
            assertEquals(0, m.prefill(conv, ConversationPrompt.imageQuestion("What is the").draftIds(m.tokenizer()), f, () -> false));
            assertEquals(held, conv.cachedTokens(), "a prompt the cache already holds leaves it as it is");

            GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false);
            assertArrayEquals(toInt(golden()), r.generatedIds());
            assertArrayEquals(cold.generatedIds(), r.generatedIds());
            assertEquals(held, r.reusedPromptTokens(), "the whole draft was reused");
            assertEquals(ids.length - draft.length, r.computedPromptTokens(), "only \" ASSISTANT:\" was computed");
        }
    }

    @Test
    void aDraftCancelledAfterItsFirstLayerLeavesTheCacheAsBeforeIt() {
        try (ImageFeatures f = m.encodeImage(wide, "wide", () -> false); Conversation conv = m.newConversation(256)) {
            m.prefill(conv, ConversationPrompt.imageQuestion("x").imagePrefixIds(m.tokenizer()), f, () -> false);
            int prefix = conv.cachedTokens();
            AtomicInteger polls = new AtomicInteger();
            int[] draft = ConversationPrompt.imageQuestion("What is the tallest bar").draftIds(m.tokenizer());
            org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CancellationException.class,
                    () -> m.prefill(conv, draft, f, () -> polls.incrementAndGet() > 1)); // after the first of two layers
            assertEquals(prefix, conv.cachedTokens(), "the half-read draft is dropped, the image prefix kept");
            GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false);
            assertArrayEquals(toInt(golden()), r.generatedIds());
            assertEquals(prefix, r.reusedPromptTokens());
        }
    }

    @Test
    void cancellingAPreEncodeMidwayLeavesTheEngineUsable() {
        try (ImageFeatures f = m.encodeImage(wide, "wide", () -> false); Conversation conv = m.newConversation(256)) {
            AtomicInteger polls = new AtomicInteger();
            int[] prefix = ConversationPrompt.imageQuestion("x").imagePrefixIds(m.tokenizer());
            org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CancellationException.class,
                    () -> m.prefill(conv, prefix, f, () -> polls.incrementAndGet() > 1)); // cancelled before the second layer
            assertEquals(0, conv.cachedTokens(), "a cancelled prefill leaves nothing half-written in the cache");
            GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(16), TokenListener.NONE, () -> false);
            assertArrayEquals(toInt(golden()), r.generatedIds());
        }
    }

    @Test
    void followUpReusesTheCacheAndMatchesARecomputeOfTheWholeConversation() {
        ConversationPrompt first = ConversationPrompt.imageQuestion("What is the tallest bar in this chart?");
        try (ImageFeatures f = m.encodeImage(wide, "wide", () -> false); Conversation conv = m.newConversation(256)) {
            GenerationResult a1 = run(conv, first.inputIds(m.tokenizer()), f, GenerationConfig.greedy(8), TokenListener.NONE, () -> false);
            ConversationPrompt second = first.withAnswer(a1.text()).withTurn(Turn.pending("And the shortest?"));
            int[] ids2 = second.inputIds(m.tokenizer());
            int cachedBefore = conv.cachedTokens();
            GenerationResult reused = run(conv, ids2, f, GenerationConfig.greedy(12), TokenListener.NONE, () -> false);
            assertTrue(reused.promptTokens() > cachedBefore);
            int[] recomputed;
            try (Conversation fresh = m.newConversation(256)) {
                recomputed = run(fresh, ids2, f, GenerationConfig.greedy(12), TokenListener.NONE, () -> false).generatedIds();
            }
            assertArrayEquals(recomputed, reused.generatedIds());
        }
    }

    @Test
    void hugeAndOnePixelImagesGoThroughTheWholePipeline() {
        RgbImage huge = new RgbImage(12000, 9000, new byte[12000 * 9000 * 3]);
        RgbImage dot = RgbImage.filled(1, 1, 200, 10, 10);
        for (RgbImage img : List.of(huge, dot)) {
            for (CanvasMode mode : CanvasMode.values()) {
                PreprocessedImage p = m.preprocessor().preprocess(img, mode);
                try (ImageFeatures f = m.encodeImage(p, null, () -> false); Conversation conv = m.newConversation(256)) {
                    assertEquals(p.geometry().tokenCount(), f.tokens());
                    GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(2), TokenListener.NONE, () -> false);
                    assertEquals(FinishReason.LENGTH, r.finishReason(), String.valueOf(r.error()));
                }
            }
        }
    }

    @Test
    void memoryStaysFlatOverAThousandDecodeSteps() throws IOException {
        try (ImageFeatures f = m.encodeImage(wide, null, () -> false); Conversation conv = m.newConversation(1100)) {
            // the first 1000 steps size the JVM heap and PyTorch's allocator; the second 1000 must not grow anything
            GenerationResult warm = run(conv, ids, f, GenerationConfig.greedy(1000), TokenListener.NONE, () -> false);
            assertEquals(1000, warm.generatedIds().length, "generation ended early: " + warm.finishReason());
            conv.reset();
            System.gc();
            long arraysBefore = liveArrays();
            long rssBefore = rssBytes();
            GenerationResult r = run(conv, ids, f, GenerationConfig.greedy(1000), TokenListener.NONE, () -> false);
            assertEquals(1000, r.generatedIds().length, "generation ended early: " + r.finishReason());
            System.gc();
            long arraysAfter = liveArrays();
            long rssAfter = rssBytes();
            assertEquals(arraysBefore, arraysAfter, "NDArrays leaked over 1000 steps");
            assertTrue(rssAfter - rssBefore < 24L << 20, "RSS grew by " + ((rssAfter - rssBefore) >> 20) + " MB over 1000 steps");
        }
    }

    long liveArrays() {
        return m.liveArrayCount();
    }

    static long rssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
            }
        }
        return 0;
    }
}
