package ai.convllava.model.tokenizer;

import ai.convllava.model.spi.TextTokenizer;

import ai.convllava.model.api.Turn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ConversationPromptTest {

    private static final String QUESTION = "What is the tallest bar in this chart?";
    private static final String ANSWER = "The tallest bar is B.";
    private static final String FOLLOW_UP = "And the shortest?";

    private static TextTokenizer llama;
    private static TextTokenizer tinySp;
    private static TextTokenizer tinyJson;

    @BeforeAll
    static void open() {
        llama = SentencePieceTokenizer.open(TokenizerFixtures.llamaModel());
        tinySp = Tokenizers.open(TokenizerFixtures.tinyFolder());
        tinyJson = Tokenizers.open(TokenizerFixtures.tinySafetensorsFolder());
    }

    @AfterAll
    static void close() {
        llama.close();
        tinySp.close();
        tinyJson.close();
    }

    private static ConversationPrompt oneTurn() {
        return ConversationPrompt.imageQuestion(QUESTION);
    }

    private static ConversationPrompt twoTurns() {
        return ConversationPrompt.withImage(List.of(new Turn(QUESTION, ANSWER), Turn.pending(FOLLOW_UP)));
    }

    @Test
    void llamaOneAndTwoTurnPrompts() {
        JsonNode prompts = TokenizerFixtures.llamaVectors().get("convllava_prompts");
        assertEquals(2, prompts.size());
        ConversationPrompt[] ours = {oneTurn(), twoTurns()};
        for (int i = 0; i < 2; i++) {
            assertEquals(prompts.get(i).get("prompt").asText(), ours[i].text());
            assertArrayEquals(TokenizerFixtures.ints(prompts.get(i).get("input_ids")), ours[i].inputIds(llama), "prompt " + i);
        }
    }

    @Test
    void tinyGoldenInputIdsWithTokenizerModel() {
        JsonNode golden = TokenizerFixtures.golden();
        assertEquals(golden.get("prompt").asText(), oneTurn().text());
        assertArrayEquals(TokenizerFixtures.ints(golden.get("input_ids")), oneTurn().inputIds(tinySp));
    }

    @Test
    void tinyGoldenInputIdsWithTokenizerJson() {
        assertArrayEquals(TokenizerFixtures.ints(TokenizerFixtures.golden().get("input_ids_fast")), oneTurn().inputIds(tinyJson));
    }

    @Test
    void twoTurnTextFollowsTheTemplate() {
        assertEquals(ConversationPrompt.VICUNA_V1_SYSTEM + " USER: <image>\n" + QUESTION + " ASSISTANT: " + ANSWER
                + "</s>USER: " + FOLLOW_UP + " ASSISTANT:", twoTurns().text());
    }

    @Test
    void imagePrefixIsAPrefixOfEveryPromptAndEndsAtTheImage() {
        for (TextTokenizer t : List.of(llama, tinySp, tinyJson)) {
            int[] prefix = oneTurn().imagePrefixIds(t);
            assertEquals(ConversationPrompt.IMAGE_TOKEN_INDEX, prefix[prefix.length - 1]);
            assertEquals(1, prefix[0]);
            assertEquals(1, Arrays.stream(prefix).filter(id -> id == ConversationPrompt.IMAGE_TOKEN_INDEX).count());
            for (ConversationPrompt p : List.of(oneTurn(), twoTurns(), ConversationPrompt.imageQuestion("Describe the image in detail."),
                    ConversationPrompt.imageQuestion(""))) {
                int[] full = p.inputIds(t);
                assertTrue(full.length > prefix.length);
                assertArrayEquals(prefix, Arrays.copyOf(full, prefix.length), p.text());
            }
        }
        // the llama golden: BOS + 34 text ids + image
        assertEquals(36, oneTurn().imagePrefixIds(llama).length);
    }

    @Test
    void aDraftIsThePromptWithoutTheClosingAssistant() {
        for (TextTokenizer t : List.of(llama, tinySp, tinyJson)) {
            for (ConversationPrompt p : List.of(oneTurn(), twoTurns(), ConversationPrompt.textOnly(List.of(Turn.pending("Hello"))),
                    ConversationPrompt.imageQuestion(""))) {
                int[] draft = p.draftIds(t);
                int[] full = p.inputIds(t);
                assertTrue(draft.length < full.length, p.text());
                assertArrayEquals(draft, Arrays.copyOf(full, draft.length), "a finished question's draft is a prefix: " + p.text());
                assertTrue(full.length - draft.length <= 6, "only \" ASSISTANT:\" is left: " + p.text());
            }
            // the follow-up's draft keeps every earlier turn as it will be sent, up to "USER: And the shortest?"
            int firstEos = indexOf(twoTurns().inputIds(t), t.eosId());
            assertArrayEquals(Arrays.copyOf(twoTurns().inputIds(t), firstEos + 1), Arrays.copyOf(twoTurns().draftIds(t), firstEos + 1));
        }
        assertThrows(IllegalStateException.class, () -> ConversationPrompt.withImage(List.of(new Turn(QUESTION, ANSWER))).draftIds(llama));
    }

    @Test
    void aDraftsLastTokensMayDifferFromTheSentPrompts() {
        // with the tiny model's tokenizer.model (SentencePiece), "hello " encoded on its own ends in "▁", where in the sent
        // prompt that space and the one before ASSISTANT: merge into "▁▁"
        ConversationPrompt p = ConversationPrompt.imageQuestion("hello ");
        int[] draft = p.draftIds(tinySp);
        int[] full = p.inputIds(tinySp);
        assertArrayEquals(Arrays.copyOf(draft, draft.length - 1), Arrays.copyOf(full, draft.length - 1));
        assertTrue(draft[draft.length - 1] != full[draft.length - 1], "the boundary token differs");
    }

    @Test
    void bosOnlyAtTheStartAndEosBetweenTurns() {
        int[] ids = twoTurns().inputIds(llama);
        assertEquals(1, Arrays.stream(ids).filter(id -> id == llama.bosId()).count());
        assertEquals(1, Arrays.stream(ids).filter(id -> id == llama.eosId()).count());
        // the last turn of twoTurns() awaits its answer: no turn can follow until it has one
        assertThrows(IllegalArgumentException.class, () -> twoTurns().withTurn(Turn.pending("x")));
        ConversationPrompt three = twoTurns().withAnswer("The shortest is D.").withTurn(Turn.pending("Why?"));
        assertEquals(3, three.turns().size());
        int[] ids3 = three.inputIds(llama);
        assertEquals(2, Arrays.stream(ids3).filter(id -> id == llama.eosId()).count());
        int firstEos = indexOf(ids, llama.eosId());
        assertArrayEquals(Arrays.copyOf(ids, firstEos + 1), Arrays.copyOf(ids3, firstEos + 1),
                "earlier answered turns keep their ids when the conversation grows");
        assertEquals(twoTurns().text() + " The shortest is D.</s>USER: Why? ASSISTANT:", three.text());
    }

    @Test
    void textOnlyPrompt() {
        ConversationPrompt p = ConversationPrompt.textOnly(List.of(Turn.pending("Hello")));
        assertEquals(ConversationPrompt.VICUNA_V1_SYSTEM + " USER: Hello ASSISTANT:", p.text());
        assertFalse(p.hasImage());
        int[] ids = p.inputIds(llama);
        assertTrue(Arrays.stream(ids).noneMatch(id -> id < 0));
        int[] expected = concat(new int[] {1}, llama.encode(p.text()));
        assertArrayEquals(expected, ids);
        assertThrows(IllegalStateException.class, () -> p.imagePrefixIds(llama));
    }

    @Test
    void customSystemPrompt() {
        ConversationPrompt p = oneTurn().withSystem("You read charts.");
        assertEquals("You read charts. USER: <image>\n" + QUESTION + " ASSISTANT:", p.text());
        assertArrayEquals(concat(new int[] {1}, llama.encode("You read charts. USER: "), new int[] {-200}), p.imagePrefixIds(llama));
        assertEquals(ConversationPrompt.VICUNA_V1_SYSTEM, oneTurn().system(), "withSystem must not change the original");
    }

    @Test
    void answeredLastTurnEndsWithEos() {
        ConversationPrompt p = ConversationPrompt.withImage(List.of(new Turn(QUESTION, ANSWER)));
        assertTrue(p.text().endsWith(ANSWER + "</s>"));
        int[] ids = p.inputIds(llama);
        assertEquals(llama.eosId(), ids[ids.length - 1]);
    }

    @Test
    void onlyTheLastTurnMayBePending() {
        assertThrows(IllegalArgumentException.class,
                () -> ConversationPrompt.withImage(List.of(Turn.pending("a"), Turn.pending("b"))));
        assertThrows(IllegalArgumentException.class, () -> ConversationPrompt.withImage(List.of()));
        assertThrows(NullPointerException.class, () -> new Turn(null, "x"));
    }

    @Test
    void typedMarkersStayText() {
        // a user typing "<image>" or "</s>" gets neither a second image slot nor an end-of-turn
        int[] ids = ConversationPrompt.imageQuestion("what does <image> or </s> mean?").inputIds(llama);
        assertEquals(1, Arrays.stream(ids).filter(id -> id == ConversationPrompt.IMAGE_TOKEN_INDEX).count());
        assertEquals(0, Arrays.stream(ids).filter(id -> id == llama.eosId()).count());
    }

    private static int indexOf(int[] ids, int id) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == id) {
                return i;
            }
        }
        throw new AssertionError("no " + id + " in " + Arrays.toString(ids));
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }
}
