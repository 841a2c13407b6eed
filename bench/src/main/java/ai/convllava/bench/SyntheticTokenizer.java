package ai.convllava.bench;

import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.TokenizerException;

import java.util.ArrayList;
import java.util.List;

/**
 * A stand-in for the LLaMA tokenizer with the same vocabulary size and special ids (unk 0, BOS 1,
 * EOS 2) and a similar rate of about four characters per token, so benchmark prompts have realistic
 * lengths without a tokenizer file.
 *
 * <p>Encoding splits on whitespace; a word of the form {@code w<base36 id>} is that id (so decoded
 * output encodes back to the same ids and a follow-up question reuses the cached answer, as with a
 * real tokenizer); any other word is cut into pieces of at most four characters, each hashed to an
 * id in {@code [3, vocab)}. Decoding prints {@code w<base36 id>} per id, space separated.
 */
public final class SyntheticTokenizer implements TextTokenizer {
    public static final int UNK = 0;
    public static final int BOS = 1;
    public static final int EOS = 2;
    private static final int FIRST_ORDINARY = 3;
    private static final int PIECE_CHARS = 4;

    private final int vocabSize;

    public SyntheticTokenizer(int vocabSize) {
        if (vocabSize <= FIRST_ORDINARY) {
            throw new IllegalArgumentException("vocab size must be > " + FIRST_ORDINARY + " (got " + vocabSize + ")");
        }
        this.vocabSize = vocabSize;
    }

    @Override
    public int[] encode(String text) {
        List<Integer> ids = new ArrayList<>();
        for (String word : text.trim().split("\\s+")) {
            if (word.isEmpty()) {
                continue;
            }
            int id = parseId(word);
            if (id >= 0) {
                ids.add(id);
                continue;
            }
            for (int i = 0; i < word.length(); i += PIECE_CHARS) {
                String piece = word.substring(i, Math.min(word.length(), i + PIECE_CHARS));
                ids.add(FIRST_ORDINARY + (int) Math.floorMod(SyntheticWeights.fnv64(piece), (long) (vocabSize - FIRST_ORDINARY)));
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The id a word {@code w<base36>} stands for, or -1. */
    private int parseId(String word) {
        if (word.length() < 2 || word.length() > 8 || word.charAt(0) != 'w') {
            return -1;
        }
        String digits = word.substring(1);
        for (int i = 0; i < digits.length(); i++) {
            char c = digits.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'z')) {
                return -1;
            }
        }
        long v = Long.parseLong(digits, 36);
        if (v < FIRST_ORDINARY || v >= vocabSize || !Long.toString(v, 36).equals(digits)) {
            return -1;
        }
        return (int) v;
    }

    @Override
    public String decode(int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            check(id);
            if (isSpecial(id)) {
                continue;
            }
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append('w').append(Integer.toString(id, 36));
        }
        return sb.toString();
    }

    private void check(int id) {
        if (id < 0 || id >= vocabSize) {
            throw new TokenizerException("token id " + id + " is outside the synthetic vocabulary [0, " + vocabSize + ")");
        }
    }

    @Override
    public String piece(int id) {
        check(id);
        return switch (id) {
            case UNK -> "<unk>";
            case BOS -> "<s>";
            case EOS -> "</s>";
            default -> "\u2581w" + Integer.toString(id, 36);
        };
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public String describe() {
        return "synthetic tokenizer (" + vocabSize + " ids, ~" + PIECE_CHARS + " characters per token)";
    }

    @Override
    public boolean isSpecial(int id) {
        return id < FIRST_ORDINARY;
    }

    @Override
    public void close() {
        // nothing native
    }

}
