package ai.convllava.model.tokenizer;

import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.TokenizerException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StreamingDetokenizerTest {

    private static final char FFFD = '\uFFFD';

    private static SentencePieceTokenizer llamaSp;
    private static HfTokenizer llamaJson;
    private static TextTokenizer tinySp;
    private static TextTokenizer tinyJson;

    @BeforeAll
    static void open() {
        llamaSp = SentencePieceTokenizer.open(TokenizerFixtures.llamaModel());
        llamaJson = HfTokenizer.open(TokenizerFixtures.llamaJson());
        tinySp = Tokenizers.open(TokenizerFixtures.tinyFolder());
        tinyJson = Tokenizers.open(TokenizerFixtures.tinySafetensorsFolder());
    }

    @AfterAll
    static void close() {
        llamaSp.close();
        llamaJson.close();
        tinySp.close();
        tinyJson.close();
    }

    private static List<String> deltas(TextTokenizer t, int[] ids) {
        StreamingDetokenizer d = new StreamingDetokenizer(t);
        List<String> out = new ArrayList<>();
        for (int id : ids) {
            out.add(d.push(id));
        }
        out.add(d.flush());
        return out;
    }

    @Test
    void spacesSurvive() {
        // decoding one id at a time would give "Hello" + "world"
        assertEquals("world", llamaSp.decode(new int[] {3186}));
        assertEquals(List.of("Hello", " world", "!", ""), deltas(llamaSp, new int[] {15043, 3186, 29991}));
        assertEquals(List.of("Hello", " world", "!", ""), deltas(llamaJson, new int[] {15043, 3186, 29991}));
    }

    @Test
    void emojiFromFourBytePiecesSentencePiece() {
        int[] ids = llamaSp.encode("emoji 🙂 and math ∑ x²");
        assertArrayEquals(new int[] {953, 29877, 2397, 29871, 243, 162, 156, 133, 322, 5844, 29871, 31060, 921, 30088}, ids);
        List<String> d = deltas(llamaSp, ids);
        // <0xF0> <0x9F> <0x99> are held back, <0x82> completes the character: per-character byte decoding
        assertEquals(List.of("", "", "", "🙂"), d.subList(4, 8));
        assertEquals("emoji 🙂 and math ∑ x²", String.join("", d));
        d.forEach(s -> assertEquals(-1, s.indexOf(FFFD), s));
    }

    @Test
    void emojiFromFourBytePiecesTokenizerJson() {
        int[] ids = llamaSp.encode("emoji 🙂 and math ∑ x²");
        List<String> d = deltas(llamaJson, ids);
        // Hugging Face's ByteFallback decodes a byte run all-or-nothing: the run is released with the next piece
        assertEquals(List.of("", "", "", "", "🙂 and"), d.subList(4, 9));
        assertEquals("emoji 🙂 and math ∑ x²", String.join("", d));
        d.forEach(s -> assertEquals(-1, s.indexOf(FFFD), s));
    }

    @Test
    void cjkWithAndWithoutByteFallback() {
        String text = "今天天气很好，我们去公园散步吧。𠀀龘 (CJK ext B) 🙂🙂";
        for (TextTokenizer t : List.of(llamaSp, llamaJson)) {
            int[] ids = llamaSp.encode(text);
            assertTrue(Arrays.stream(ids).filter(llamaSp::isByteFallback).count() >= 8, "the text must exercise byte fallback");
            assertEquals(text, t.decode(ids));
            List<String> d = deltas(t, ids);
            assertEquals(text, String.join("", d), t.describe());
            d.forEach(s -> assertEquals(-1, s.indexOf(FFFD), s));
        }
    }

    @Test
    void unfinishedCharacterAtTheEndComesOutOnFlush() {
        StreamingDetokenizer d = new StreamingDetokenizer(llamaSp);
        assertEquals("Hello", d.push(15043));
        assertEquals("", d.push(243));
        assertEquals("", d.push(162));
        String rest = d.flush();
        assertEquals(llamaSp.decode(new int[] {15043, 243, 162}), "Hello" + rest);
        assertEquals("\uFFFD\uFFFD", rest); // SentencePiece: one U+FFFD per invalid byte
        assertEquals("", d.flush());
        assertEquals("Hello\uFFFD\uFFFD", d.text());
    }

    @Test
    void invalidByteRunAfterAValidCharacter() {
        // 你 as bytes, then a lone lead byte, then a word: the two decoders disagree about the run
        int[] ids = {15043, 3 + 0xE4, 3 + 0xBD, 3 + 0xA0, 3 + 0xE5, 3186};
        assertEquals("Hello你\uFFFD world", llamaSp.decode(ids));
        assertEquals("Hello\uFFFD\uFFFD\uFFFD\uFFFD world", llamaJson.decode(ids));
        for (TextTokenizer t : List.of(llamaSp, llamaJson)) {
            assertEquals(t.decode(ids), String.join("", deltas(t, ids)), t.describe());
        }
    }

    @Test
    void specialTokensInTheMiddleDoNotEatSpaces() {
        int[] ids = {15043, 2, 3186, 1, 29871, 0, 3186};
        for (TextTokenizer t : List.of(llamaSp, llamaJson)) {
            assertEquals(t.decode(ids), String.join("", deltas(t, ids)), t.describe());
        }
    }

    @Test
    void realSequencesFromTheFixtures() {
        List<String> texts = new ArrayList<>();
        for (JsonNode row : TokenizerFixtures.llamaVectors().get("rows")) {
            texts.add(row.get("text").asText());
        }
        for (JsonNode row : TokenizerFixtures.golden().get("tokenization")) {
            texts.add(row.get("text").asText());
        }
        texts.add(TokenizerFixtures.golden().get("prompt").asText());
        texts.add(TokenizerFixtures.golden().get("generated").get("wide.pad").get("text").asText());
        texts.add("  leading spaces,   runs  of spaces\n\n\tand tabs  ");
        texts.add("Ωμέγα, кириллица, עברית, العربية, हिन्दी, 한국어, 日本語のテキスト, ⅓ ∞ ≠ 🙂👍🏽🇩🇪");
        for (TextTokenizer t : List.of(llamaSp, llamaJson, tinySp, tinyJson)) {
            TextTokenizer encoder = t == llamaJson ? llamaSp : t;
            for (String text : texts) {
                checkProperties(t, encoder.encode(text));
            }
        }
    }

    @Test
    void randomSequences() {
        Random random = new Random(20240525);
        for (TextTokenizer t : List.of(llamaSp, llamaJson, tinySp, tinyJson)) {
            for (int i = 0; i < 300; i++) {
                int[] ids = new int[1 + random.nextInt(40)];
                int style = i % 3;
                for (int k = 0; k < ids.length; k++) {
                    double u = random.nextDouble();
                    if (style == 0 || u < 0.4) {
                        ids[k] = random.nextInt(t.vocabSize());
                    } else if (u < 0.9) {
                        ids[k] = 3 + random.nextInt(256); // byte pieces: runs valid and invalid
                    } else {
                        ids[k] = random.nextInt(3); // <unk>, <s>, </s>
                    }
                }
                checkProperties(t, ids);
            }
            // byte runs that are valid UTF-8: characters cut into byte pieces
            for (int i = 0; i < 100; i++) {
                StringBuilder s = new StringBuilder();
                for (int k = 0; k < 1 + random.nextInt(6); k++) {
                    s.appendCodePoint(random.nextBoolean() ? 0x4E00 + random.nextInt(0x5000) : 0x1F300 + random.nextInt(0x300));
                }
                List<Integer> ids = new ArrayList<>();
                for (byte b : s.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                    ids.add(3 + (b & 0xff));
                    if (random.nextInt(5) == 0) {
                        ids.add(15043 % t.vocabSize());
                    }
                }
                checkProperties(t, ids.stream().mapToInt(Integer::intValue).toArray());
            }
        }
    }

    /**
     * concat(deltas) + flush == decode(all); no delta has U+FFFD unless the full text does; and no
     * undue holding: after each push whose full decode is final (no trailing U+FFFD, and for
     * all-or-nothing byte decoders not inside a byte run) everything has been emitted.
     */
    private static void checkProperties(TextTokenizer t, int[] ids) {
        String expected = t.decode(ids);
        StreamingDetokenizer d = new StreamingDetokenizer(t);
        StringBuilder got = new StringBuilder();
        for (int k = 0; k < ids.length; k++) {
            String delta = d.push(ids[k]);
            if (expected.indexOf(FFFD) < 0) {
                assertEquals(-1, delta.indexOf(FFFD), () -> "U+FFFD in a delta of " + Arrays.toString(ids) + " on " + t.describe());
            }
            got.append(delta);
            String soFar = t.decode(Arrays.copyOf(ids, k + 1));
            boolean settled = !soFar.endsWith("\uFFFD") && (t.decodesBytesPerCharacter() || !endsInByteRun(t, ids, k));
            if (settled) {
                assertEquals(soFar, got.toString(), () -> "held back too much after " + Arrays.toString(ids) + " on " + t.describe());
            }
        }
        got.append(d.flush());
        assertEquals(expected, got.toString(), () -> "stream of " + Arrays.toString(ids) + " on " + t.describe());
        assertEquals(expected, d.text());
        assertEquals(0, d.resyncs(), () -> "the window decode needed a full-decode fallback on " + Arrays.toString(ids));
    }

    private static boolean endsInByteRun(TextTokenizer t, int[] ids, int k) {
        for (int i = k; i >= 0; i--) {
            if (!t.isSpecial(ids[i])) {
                return t.isByteFallback(ids[i]);
            }
        }
        return false;
    }

    @Test
    void linearWork() {
        // count the ids handed to decode: re-decoding the whole tail each time would be ~n^2/2
        int[] ids = llamaSp.encode(String.join(" ", java.util.Collections.nCopies(150,
                "The invoice total is 1,250.00 EUR 🙂 and is due on 2024-05-31, 你好.")));
        assertTrue(ids.length > 3000, "got " + ids.length);
        long[] decoded = {0};
        TextTokenizer counting = new DelegatingTokenizer(llamaSp) {
            @Override
            public String decode(int[] x) {
                decoded[0] += x.length;
                return super.decode(x);
            }
        };
        StreamingDetokenizer d = new StreamingDetokenizer(counting);
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            text.append(d.push(id));
        }
        text.append(d.flush());
        assertEquals(llamaSp.decode(ids), text.toString());
        assertTrue(decoded[0] < 20L * ids.length, "decoded " + decoded[0] + " ids for " + ids.length + " pushes");
    }

    @Test
    void idsOutsideTheVocabulary() {
        StreamingDetokenizer d = new StreamingDetokenizer(llamaSp);
        assertThrows(TokenizerException.class, () -> d.push(32000));
        assertThrows(TokenizerException.class, () -> d.push(ConversationPrompt.IMAGE_TOKEN_INDEX));
        assertEquals(0, d.size());
        assertFalse(d.push(15043).isEmpty());
    }

    /** Forwards everything; tests override single methods. */
    private static class DelegatingTokenizer implements TextTokenizer {
        private final TextTokenizer t;

        DelegatingTokenizer(TextTokenizer t) {
            this.t = t;
        }

        @Override
        public int[] encode(String text) {
            return t.encode(text);
        }

        @Override
        public String decode(int[] ids) {
            return t.decode(ids);
        }

        @Override
        public String piece(int id) {
            return t.piece(id);
        }

        @Override
        public boolean isByteFallback(int id) {
            return t.isByteFallback(id);
        }

        @Override
        public boolean isSpecial(int id) {
            return t.isSpecial(id);
        }

        @Override
        public boolean decodesBytesPerCharacter() {
            return t.decodesBytesPerCharacter();
        }

        @Override
        public int bosId() {
            return t.bosId();
        }

        @Override
        public int eosId() {
            return t.eosId();
        }

        @Override
        public int vocabSize() {
            return t.vocabSize();
        }

        @Override
        public String describe() {
            return t.describe();
        }

        @Override
        public void close() {
        }
    }
}
