package ai.convllava.model.tokenizer;

import ai.convllava.model.spi.TokenizerException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SentencePieceTokenizerTest {

    private static SentencePieceTokenizer tiny;
    private static SentencePieceTokenizer llama;

    @BeforeAll
    static void open() {
        tiny = SentencePieceTokenizer.open(TokenizerFixtures.tinyFolder().resolve("tokenizer.model"));
        llama = SentencePieceTokenizer.open(TokenizerFixtures.llamaModel());
    }

    @AfterAll
    static void close() {
        tiny.close();
        llama.close();
    }

    @Test
    void tinyGoldenSentencePieceIds() {
        JsonNode rows = TokenizerFixtures.golden().get("tokenization");
        assertEquals(9, rows.size());
        for (JsonNode row : rows) {
            String text = row.get("text").asText();
            int[] expected = TokenizerFixtures.withoutBos(TokenizerFixtures.ints(row.get("sentencepiece_ids")));
            assertArrayEquals(expected, tiny.encode(text), () -> "tiny tokenizer.model, text: " + text);
        }
    }

    @Test
    void llamaRows() {
        JsonNode rows = TokenizerFixtures.llamaVectors().get("rows");
        assertEquals(10, rows.size());
        for (JsonNode row : rows) {
            String text = row.get("text").asText();
            int[] expected = TokenizerFixtures.withoutBos(TokenizerFixtures.ints(row.get("ids")));
            assertArrayEquals(expected, llama.encode(text), () -> "llama tokenizer.model, text: " + text);
        }
    }

    @Test
    void llamaDecodeChecks() {
        JsonNode checks = TokenizerFixtures.llamaVectors().get("decode_checks");
        assertFalse(checks.isEmpty());
        for (JsonNode c : checks) {
            assertEquals(c.get("text").asText(), llama.decode(TokenizerFixtures.ints(c.get("ids"))));
        }
    }

    @Test
    void decodeRoundTripsEveryRowAndSkipsSpecialTokens() {
        for (JsonNode row : TokenizerFixtures.llamaVectors().get("rows")) {
            // the rows include BOS: decode skips it
            assertEquals(row.get("text").asText(), llama.decode(TokenizerFixtures.ints(row.get("ids"))));
        }
        for (JsonNode row : TokenizerFixtures.golden().get("tokenization")) {
            assertEquals(row.get("text").asText(), tiny.decode(TokenizerFixtures.ints(row.get("sentencepiece_ids"))));
        }
        // BOS, EOS and <unk> are skipped (skip_special_tokens=True); the space of "▁world" survives
        assertEquals("Hello world", llama.decode(new int[] {1, 15043, 0, 3186, 2}));
        assertEquals("", llama.decode(new int[] {1, 2}));
        assertEquals("", llama.decode(new int[0]));
    }

    @Test
    void specialTokenTextIsOrdinaryText() {
        // sp.encode never produces EOS: "</s>" typed by a user is three pieces
        int[] ids = llama.encode("</s>");
        for (int id : ids) {
            assertTrue(id != llama.eosId(), "literal </s> must not become EOS");
        }
        assertEquals("</s>", llama.decode(ids));
    }

    @Test
    void vocabularyFacts() {
        for (SentencePieceTokenizer t : new SentencePieceTokenizer[] {tiny, llama}) {
            assertEquals(32000, t.vocabSize());
            assertEquals(1, t.bosId());
            assertEquals(2, t.eosId());
            assertEquals("<s>", t.piece(1));
            assertEquals("</s>", t.piece(2));
            assertTrue(t.decodesBytesPerCharacter());
            assertTrue(t.describe().contains("tokenizer"), t.describe());
        }
        assertEquals("▁Hello", llama.piece(15043));
        // 🙂 = F0 9F 99 82, byte pieces <0xNN> at id NN + 3 in the LLaMA vocabulary
        assertArrayEquals(new int[] {29871, 243, 162, 156, 133}, llama.encode("🙂"));
        assertEquals("<0xF0>", llama.piece(243));
        assertTrue(llama.isByteFallback(243));
        assertFalse(llama.isByteFallback(15043));
        assertEquals("🙂", llama.decode(new int[] {243, 162, 156, 133}));
    }

    @Test
    void javaDecodeAgreesWithTheNativeLibraryOnBmpText() {
        // the native decode is only trustworthy without supplementary characters (JNI modified UTF-8)
        // and without NUL (<0x00>: the JNI string ends there)
        java.util.Random random = new java.util.Random(7);
        int compared = 0;
        for (SentencePieceTokenizer t : new SentencePieceTokenizer[] {tiny, llama}) {
            for (int i = 0; i < 2000; i++) {
                int[] ids = new int[1 + random.nextInt(12)];
                for (int k = 0; k < ids.length; k++) {
                    ids[k] = random.nextInt(4) == 0 ? 3 + random.nextInt(256) : random.nextInt(t.vocabSize());
                }
                String ours = t.decode(ids);
                if (ours.chars().noneMatch(c -> c == 0 || Character.isSurrogate((char) c))) {
                    assertEquals(t.nativeDecode(ids), ours, () -> java.util.Arrays.toString(ids));
                    compared++;
                }
            }
        }
        assertTrue(compared > 3000, "compared " + compared);
    }

    @Test
    void piecesMatchTheTokenizerJsonVocabulary() {
        // the Java protobuf reader and the JSON reader must agree on every piece of the same vocabulary
        try (HfTokenizer json = HfTokenizer.open(TokenizerFixtures.llamaJson())) {
            assertEquals(json.vocabSize(), llama.vocabSize());
            for (int id = 0; id < llama.vocabSize(); id++) {
                assertEquals(json.piece(id), llama.piece(id), "piece " + id);
            }
        }
    }

    @Test
    void outOfRangeIdsAreOurError() {
        TokenizerException e = assertThrows(TokenizerException.class, () -> llama.decode(new int[] {15043, 32000}));
        assertTrue(e.getMessage().contains("32000"), e.getMessage());
        assertThrows(TokenizerException.class, () -> llama.decode(new int[] {-200}));
        assertThrows(TokenizerException.class, () -> llama.piece(-1));
    }

    @Test
    void emptyTextHasNoIds() {
        assertArrayEquals(new int[0], llama.encode(""));
    }
}
