package ai.convllava.model.reliability;

import ai.convllava.model.engine.ModelLoader;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.Goldens;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.api.Device;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conversations longer than the context window (max_position_embeddings, 4096 on the tiny model as on
 * Vicuna-7B). The engine, which sees ids and not turns, refuses them with a message naming both token
 * counts and stays usable; the service, which sees turns, drops the oldest ones with a notice
 * (LocalVisionChatSessionTest.aConversationLongerThanTheContextDropsTheOldestTurnsWithANotice).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContextLimitTest {
    static final String Q = "What is the tallest bar in this chart?";
    ConvLlava m;
    ImageFeatures features;
    int context;

    @BeforeAll
    void load() {
        m = ModelLoader.load(LoadOptions.of(Goldens.TINY.resolve("tiny-convllava")).withDevice(Device.CPU), LoadListener.NONE, () -> false);
        PreprocessedImage wide = m.preprocessor().preprocess(ImageDecoder.decode(Goldens.TINY.resolve("images/wide.png")), CanvasMode.PAD);
        features = m.encodeImage(wide, "wide", () -> false);
        context = m.config().llm().maxPositionEmbeddings();
    }

    @AfterAll
    void close() {
        features.close();
        m.close();
    }

    /** A conversation of {@code turns} earlier long turns, then the question. */
    static List<Turn> longConversation(int turns) {
        List<Turn> t = new ArrayList<>();
        String filler = "Please describe every bar, axis label and colour of this chart in great detail. ".repeat(12);
        for (int i = 0; i < turns; i++) {
            t.add(new Turn("Turn " + i + ": " + filler, "Answer " + i + ": " + filler));
        }
        t.add(Turn.pending(Q));
        return t;
    }

    int[] golden() {
        return Arrays.stream(Goldens.longs("wide.pad.generated_ids")).mapToInt(v -> (int) v).toArray();
    }

    @Test
    void tooLongAConversationIsAClearErrorAndTheEngineStaysUsable() {
        assertEquals(4096, context);
        int[] ids = ConversationPrompt.withImage(longConversation(12)).inputIds(m.tokenizer());
        int need = ids.length - 1 + features.tokens(); // the -200 placeholder becomes the image's tokens
        assertTrue(need > context, need + " tokens");
        try (Conversation conv = m.newConversation(1024)) {
            GenerationResult r = m.generate(conv, ids, features, GenerationConfig.greedy(8), TokenListener.NONE, () -> false, null,
                    System.nanoTime());
            assertEquals(FinishReason.ERROR, r.finishReason());
            Matcher mm = Pattern.compile("the conversation needs (\\d+) tokens but the model's context is (\\d+)"
                    + " \\(max_position_embeddings\\)").matcher(r.error());
            assertTrue(mm.matches(), r.error());
            assertEquals(need, Integer.parseInt(mm.group(1)));
            assertEquals(context, Integer.parseInt(mm.group(2)));
            assertEquals(0, r.generatedIds().length);
            // prefill (pre-encode) throws the same message
            ConvLlavaException e = assertThrows(ConvLlavaException.class, () -> m.prefill(conv, ids, features, () -> false));
            assertEquals(r.error(), e.getMessage());
            // the same conversation object answers the next, short question exactly
            GenerationResult ok = m.generate(conv, ConversationPrompt.imageQuestion(Q).inputIds(m.tokenizer()), features,
                    GenerationConfig.greedy(16), TokenListener.NONE, () -> false, null, System.nanoTime());
            assertEquals(FinishReason.LENGTH, ok.finishReason(), ok.error());
            assertArrayEquals(golden(), ok.generatedIds());
            System.out.println("[report] context limit: " + r.error());
        }
    }

    /**
     * Found here (and fixed in nn/KvCache): a conversation that outgrew the cache's initial capacity failed
     * with "Native resource has been released already." because the grown buffers belonged to the NDScope
     * of the step that grew them.
     */
    @Test
    void aConversationOutgrowingTheInitialCacheKeepsWorkingUpToTheContextEdge() {
        int[] ids = ConversationPrompt.withImage(longConversation(1)).inputIds(m.tokenizer()); // 468 positions
        try (Conversation conv = m.newConversation(1024)) {
            GenerationResult r = m.generate(conv, ids, features, GenerationConfig.greedy(700), TokenListener.NONE, () -> false, null,
                    System.nanoTime());
            assertTrue(r.finishReason() == FinishReason.LENGTH || r.finishReason() == FinishReason.EOS,
                    r.finishReason() + " after " + r.generatedIds().length + " tokens: " + r.error());
            GenerationResult again = m.generate(conv, ConversationPrompt.imageQuestion(Q).inputIds(m.tokenizer()), features,
                    GenerationConfig.greedy(16), TokenListener.NONE, () -> false, null, System.nanoTime());
            assertArrayEquals(golden(), again.generatedIds(), String.valueOf(again.error()));
        }
        // and a prompt just under the window stops with LENGTH at the edge instead of failing
        int[] longIds = ConversationPrompt.withImage(longConversation(9)).inputIds(m.tokenizer()); // 3684 positions
        try (Conversation conv = m.newConversation(1024)) {
            GenerationResult r = m.generate(conv, longIds, features, GenerationConfig.greedy(1000), TokenListener.NONE, () -> false,
                    null, System.nanoTime());
            assertEquals(FinishReason.LENGTH, r.finishReason(), r.error());
            assertEquals(context, longIds.length - 1 + features.tokens() + r.generatedIds().length - 1, "stops at the context edge");
        }
    }
}
