package ai.convllava.model.tokenizer;

import ai.djl.sentencepiece.SpProcessor;
import ai.djl.sentencepiece.SpTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The slow (SentencePiece) LLaMA tokenizer that ConvLLaVA was trained with, on a {@code tokenizer.model}
 * file, through DJL's SentencePiece binding ({@code sp.encode} / {@code sp.decode}).
 *
 * <p>The file is read and checked in Java ({@link SentencePieceModelFile}) before the bytes reach
 * native code; the piece table from that read also answers {@link #piece}, {@link #vocabSize} and
 * which ids {@link #decode} skips without a native call.
 */
public final class SentencePieceTokenizer implements TextTokenizer {

    /** Larger than any LLaMA-family tokenizer.model (500 KB - 5 MB); guards against opening a weights file by mistake. */
    private static final long MAX_MODEL_BYTES = 64L << 20;

    private final Path file;
    private final SentencePieceModelFile model;
    private final SpTokenizer sp;
    private final SpProcessor processor;

    private SentencePieceTokenizer(Path file, SentencePieceModelFile model, SpTokenizer sp) {
        this.file = file;
        this.model = model;
        this.sp = sp;
        this.processor = sp.getProcessor();
    }

    /** @throws TokenizerException if the file is missing, unreadable or not a SentencePiece model */
    public static SentencePieceTokenizer open(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_MODEL_BYTES) {
                throw new TokenizerException("SentencePiece model " + file.toAbsolutePath() + " is " + size
                        + " bytes, larger than any tokenizer.model (limit " + MAX_MODEL_BYTES + "); is it the right file?");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new TokenizerException("Cannot read SentencePiece model " + file.toAbsolutePath() + ": " + e, e);
        }
        SentencePieceModelFile model = SentencePieceModelFile.parse(bytes, file.toAbsolutePath().toString());
        SpTokenizer sp;
        try {
            sp = new SpTokenizer(bytes);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            throw new TokenizerException("SentencePiece could not load " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        return new SentencePieceTokenizer(file, model, sp);
    }

    @Override
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        return processor.encode(text);
    }

    @Override
    public String decode(int[] ids) {
        int[] kept = new int[ids.length];
        int n = 0;
        for (int id : ids) {
            checkId(id);
            int type = model.types[id];
            // skip_special_tokens=True: LlamaTokenizer's special ids are bos, eos and unk
            if (type != SentencePieceModelFile.CONTROL && type != SentencePieceModelFile.UNKNOWN) {
                kept[n++] = id;
            }
        }
        return n == 0 ? "" : processor.decode(n == kept.length ? kept : Arrays.copyOf(kept, n));
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return model.pieces[id];
    }

    @Override
    public boolean isByteFallback(int id) {
        checkId(id);
        return model.types[id] == SentencePieceModelFile.BYTE;
    }

    /** SentencePiece decodes a byte run character by character (invalid bytes become U+FFFD one at a time). */
    @Override
    public boolean decodesBytesPerCharacter() {
        return true;
    }

    @Override
    public int bosId() {
        return model.bosId;
    }

    @Override
    public int eosId() {
        return model.eosId;
    }

    @Override
    public int vocabSize() {
        return model.pieces.length;
    }

    @Override
    public String describe() {
        return "SentencePiece " + file.toAbsolutePath() + " (" + vocabSize() + " pieces, bos=" + bosId() + ", eos=" + eosId() + ")";
    }

    @Override
    public void close() {
        sp.close();
    }

    private void checkId(int id) {
        if (id < 0 || id >= model.pieces.length) {
            throw new TokenizerException("Token id " + id + " is outside the vocabulary of " + file.getFileName()
                    + " (size " + model.pieces.length + ")");
        }
    }
}
