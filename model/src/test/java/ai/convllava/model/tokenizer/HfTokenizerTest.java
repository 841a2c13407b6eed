package ai.convllava.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HfTokenizerTest {

    private static HfTokenizer tiny;

    @BeforeAll
    static void open() {
        tiny = HfTokenizer.open(TokenizerFixtures.tinySafetensorsFolder().resolve("tokenizer.json"));
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    @Test
    void tinyGoldenFastIds() {
        JsonNode rows = TokenizerFixtures.golden().get("tokenization");
        assertEquals(9, rows.size());
        for (JsonNode row : rows) {
            String text = row.get("text").asText();
            int[] expected = TokenizerFixtures.withoutBos(TokenizerFixtures.ints(row.get("fast_ids")));
            assertArrayEquals(expected, tiny.encode(text), () -> "tiny tokenizer.json, text: " + text);
        }
    }

    @Test
    void tinyGoldenDecodedFast() {
        for (JsonNode row : TokenizerFixtures.golden().get("tokenization")) {
            assertEquals(row.get("decoded_fast").asText(), tiny.decode(TokenizerFixtures.ints(row.get("fast_ids"))));
        }
    }

    @Test
    void specialTokenTextBecomesTheSpecialId() {
        // HF semantics: "</s>" in the text is the EOS token (the golden row "ASSISTANT: </s> USER:")
        int[] ids = tiny.encode("a </s> b");
        boolean sawEos = false;
        for (int id : ids) {
            sawEos |= id == tiny.eosId();
        }
        assertTrue(sawEos);
    }

    @Test
    void longTextIsNotTruncated() {
        String text = "word ".repeat(1500);
        int[] ids = tiny.encode(text);
        assertTrue(ids.length >= 1500, "got " + ids.length + " ids: DJL's default truncation at 512 must be off");
        assertEquals(text.stripTrailing(), tiny.decode(ids).stripTrailing());
    }

    @Test
    void vocabularyFacts() {
        assertEquals(32000, tiny.vocabSize());
        assertEquals(1, tiny.bosId());
        assertEquals(2, tiny.eosId());
        assertTrue(tiny.isSpecial(0) && tiny.isSpecial(1) && tiny.isSpecial(2));
        assertFalse(tiny.isSpecial(1000));
        assertFalse(tiny.decodesBytesPerCharacter());
        assertEquals("Hello world", tiny.decode(new int[] {1, 22557, 0, 1526, 2}));
    }
}
