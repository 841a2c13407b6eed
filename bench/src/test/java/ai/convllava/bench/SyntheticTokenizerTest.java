package ai.convllava.bench;

import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticTokenizerTest {
    final SyntheticTokenizer tok = new SyntheticTokenizer(32000);

    @Test
    void decodedIdsEncodeBack() {
        int[] ids = {3, 4, 99, 31999, 1234, 4};
        assertEquals("w3 w4 w2r woov wya w4", tok.decode(ids));
        assertArrayEquals(ids, tok.encode(tok.decode(ids)));
        assertEquals("w3", tok.decode(new int[] {1, 3, 2}), "specials are skipped");
    }

    @Test
    void encodingIsDeterministicAndInTheVocabulary() {
        int[] a = tok.encode("A chat between a curious user");
        assertArrayEquals(a, new SyntheticTokenizer(32000).encode("A chat between a curious user"));
        for (int id : a) {
            assertTrue(id >= 3 && id < 32000);
        }
    }

    @Test
    void theBenchPromptHasARealisticLength() {
        int[] ids = ConversationPrompt.imageQuestion(BenchRunner.QUESTION).inputIds(tok);
        // the LLaMA tokenizer gives 60-odd text tokens for conv_vicuna_v1's system prompt and this question
        assertTrue(ids.length >= 50 && ids.length <= 75, "prompt of " + ids.length + " ids");
        assertEquals(1, ids[0]);
    }
}
