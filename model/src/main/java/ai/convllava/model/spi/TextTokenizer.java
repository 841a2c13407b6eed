package ai.convllava.model.spi;

/**
 * Text to LLaMA token ids and back, for one checkpoint's vocabulary.
 *
 * <p>{@link #encode} never adds BOS/EOS: the prompt builder ({@code ConversationPrompt}) places them.
 * {@link #decode} skips BOS, EOS, unknown and other control tokens, like transformers'
 * {@code decode(ids, skip_special_tokens=True)}.
 */
public interface TextTokenizer extends AutoCloseable {

    /** The SentencePiece model file of the published ConvLLaVA checkpoints. */
    String SENTENCEPIECE_FILE = "tokenizer.model";
    /** The Hugging Face fast-tokenizer file of converted checkpoints. */
    String HF_TOKENIZER_FILE = "tokenizer.json";

    /**
     * Ids of {@code text} without BOS. SentencePiece: {@code sp.encode(text)} (the dummy prefix "▁"
     * is added to every call, special-token text such as "&lt;/s&gt;" is ordinary text).
     * tokenizer.json: Hugging Face {@code tokenizer(text, add_special_tokens=False)} (special-token
     * text in the input becomes the special id).
     */
    int[] encode(String text);

    /**
     * The text of {@code ids}, skipping special tokens (BOS, EOS, unknown, control).
     *
     * @throws TokenizerException if an id is outside {@code [0, vocabSize())}
     */
    String decode(int[] ids);

    /** The vocabulary entry of {@code id} as stored (e.g. "▁Hello", "&lt;0xF0&gt;", "&lt;/s&gt;"). */
    String piece(int id);

    int bosId();

    int eosId();

    int vocabSize();

    /** Human readable: the file and the kind of tokenizer, for logs and the about box. */
    String describe();

    /** Whether {@link #decode} skips {@code id} (BOS, EOS, unknown and other control or special tokens). */
    boolean isSpecial(int id);

    /** Whether {@code id} is a byte-fallback piece ("&lt;0x00&gt;" .. "&lt;0xFF&gt;"), a raw UTF-8 byte. */
    default boolean isByteFallback(int id) {
        String p = piece(id);
        return p.length() == 6 && p.startsWith("<0x") && p.endsWith(">")
                && Character.digit(p.charAt(3), 16) >= 0 && Character.digit(p.charAt(4), 16) >= 0;
    }

    /**
     * Whether {@link #decode} turns a run of byte-fallback pieces into text one character at a time,
     * so that a complete character keeps its text whatever bytes follow it. SentencePiece does
     * (an invalid byte becomes one U+FFFD on its own); Hugging Face's {@code ByteFallback} decoder
     * does not (one invalid byte turns the whole run into U+FFFD, one per byte).
     * {@code StreamingDetokenizer} emits characters inside a byte run early only when this is true.
     */
    default boolean decodesBytesPerCharacter() {
        return false;
    }

    /** Releases the native tokenizer. */
    @Override
    void close();
}
