package ai.convllava.model.tokenizer;

import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.TokenizerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;

/**
 * Turns generated ids into text deltas for a streaming UI, one generation at a time.
 *
 * <p>Decoding ids one by one is wrong twice over: SentencePiece drops the leading "▁" of the first
 * piece of every decode call (spaces vanish), and a character spelled as byte-fallback pieces
 * ({@code <0xF0><0x9F><0x99><0x82>} for 🙂) decodes to U+FFFD until its last byte arrives. So each
 * {@link #push} decodes a window of the generated tail and emits only the text past what the
 * window's already-emitted part decodes to (the approach of Hugging Face's text-generation-inference):
 *
 * <ul>
 *   <li>{@code ids[p, r)} were emitted and decode (in the window) to {@code prefixText};
 *       {@code ids[p, n)} decode to {@code newText}; the delta is {@code newText} past {@code prefixText}.</li>
 *   <li>Nothing is emitted while {@code newText} ends with U+FFFD (an unfinished UTF-8 sequence), or while
 *       the tail is a byte run (special ids in between do not end it) and the tokenizer does not decode byte runs per character (Hugging Face's
 *       ByteFallback turns a whole run into U+FFFD if any byte of it is invalid, so text from an open run
 *       could still change).</li>
 *   <li>The window start {@code p} moves up to the last emission point only when the ids from there
 *       decode to non-empty text: then the first-piece space stripping of the window has been used up
 *       inside the already-emitted part, and later ids decode exactly as they do in the whole sequence.</li>
 * </ul>
 *
 * <p>Each push costs two decodes of a window a few tokens long, so a generation is O(n). The invariant
 * {@code concat(push deltas) + flush() == tokenizer.decode(all ids)} is checked by the tests; should it
 * ever break (it cannot for SentencePiece or Hugging Face LLaMA decoders), the detokenizer falls back to
 * decoding the whole sequence. Not thread-safe: one instance per generation, fed from one thread.
 */
public final class StreamingDetokenizer {

    private static final Logger LOG = LoggerFactory.getLogger(StreamingDetokenizer.class);
    private static final char REPLACEMENT = '\uFFFD';

    private final TextTokenizer tokenizer;
    private int[] ids = new int[64];
    private int n;
    /** Window start. */
    private int p;
    /** ids[0, r) have been emitted. */
    private int r;
    /** decode(ids[p, r)). */
    private String prefixText = "";
    private final StringBuilder emitted = new StringBuilder();
    /** The last non-special id is a byte piece. */
    private boolean inByteRun;
    private int resyncs;

    public StreamingDetokenizer(TextTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Adds one generated id.
     *
     * @return the text that became final with this id, possibly empty
     * @throws TokenizerException if the id is outside the vocabulary
     */
    public String push(int id) {
        if (id < 0 || id >= tokenizer.vocabSize()) {
            throw new TokenizerException("Generated token id " + id + " is outside the vocabulary (size " + tokenizer.vocabSize() + ")");
        }
        if (n == ids.length) {
            ids = Arrays.copyOf(ids, n * 2);
        }
        ids[n++] = id;
        if (!tokenizer.isSpecial(id)) {
            // decode drops special ids before its byte decoder runs, so a byte run continues across them
            inByteRun = tokenizer.isByteFallback(id);
        }
        String newText = decode(p, n);
        if (!newText.startsWith(prefixText)) {
            return resync(false);
        }
        if (endsWithReplacement(newText) || (inByteRun && !tokenizer.decodesBytesPerCharacter())) {
            return ""; // hold: later ids may change the tail
        }
        String delta = newText.substring(prefixText.length());
        if (r > p) {
            String candidate = decode(r, n);
            if (!candidate.isEmpty()) {
                p = r;
                prefixText = candidate;
            } else {
                prefixText = newText;
            }
        } else {
            prefixText = newText;
        }
        r = n;
        emitted.append(delta);
        return delta;
    }

    /** The text still held back (an unfinished character at the end of generation), possibly empty. */
    public String flush() {
        if (r == n) {
            return "";
        }
        String newText = decode(p, n);
        if (!newText.startsWith(prefixText)) {
            return resync(true);
        }
        String delta = newText.substring(prefixText.length());
        prefixText = newText;
        r = n;
        emitted.append(delta);
        return delta;
    }

    /** All text emitted so far (the concatenation of the deltas). */
    public String text() {
        return emitted.toString();
    }

    /** Number of ids pushed. */
    public int size() {
        return n;
    }

    /** How often the window assumption failed and a full decode was needed (tests expect 0). */
    int resyncs() {
        return resyncs;
    }

    /** The window assumption failed: decode everything and emit what extends the emitted text. */
    private String resync(boolean flushing) {
        resyncs++;
        String full = decode(0, n);
        LOG.warn("Streaming detokenizer resynchronised on a full decode of {} ids", n);
        p = 0;
        if (!flushing && endsWithReplacement(full)) {
            prefixText = decode(0, r);
            return "";
        }
        r = n;
        prefixText = full;
        if (!full.startsWith(emitted.toString())) {
            LOG.warn("Streamed text can no longer be corrected: emitted {} chars that the full decode does not start with", emitted.length());
            return "";
        }
        String delta = full.substring(emitted.length());
        emitted.append(delta);
        return delta;
    }

    private String decode(int from, int to) {
        return from == to ? "" : tokenizer.decode(Arrays.copyOfRange(ids, from, to));
    }

    private static boolean endsWithReplacement(String s) {
        return !s.isEmpty() && s.charAt(s.length() - 1) == REPLACEMENT;
    }
}
