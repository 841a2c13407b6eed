package ai.convllava.model.tokenizer;

import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.TokenizerException;
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
 * native code; the piece table from that read also answers {@link #piece} and {@link #vocabSize},
 * and {@link #decode} is done in Java from it (see there why).
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

    /**
     * SentencePiece's {@code Decode} (sentencepiece_processor.cc), written in Java because DJL's
     * {@code SpProcessor.decode} returns the text through JNI's modified UTF-8, which mangles every
     * character outside the Basic Multilingual Plane (🙂 came back as "ð" and the rest of the text
     * was lost) and ends the text at a NUL byte. Rules reproduced: control and unknown pieces are skipped (transformers'
     * {@code skip_special_tokens=True}); runs of byte pieces are decoded one UTF-8 character at a time,
     * a structurally invalid byte becoming one U+FFFD; the "▁" of the first piece is dropped
     * (dummy prefix) until a piece has consumed it or text has been produced; "▁" becomes a space.
     */
    @Override
    public String decode(int[] ids) {
        StringBuilder text = new StringBuilder();
        byte[] bytes = new byte[16];
        int nBytes = 0;
        boolean isBosWs = true;
        boolean bosWsSeen = false;
        for (int id : ids) {
            checkId(id);
            int type = model.types[id];
            if (type == SentencePieceModelFile.CONTROL || type == SentencePieceModelFile.UNKNOWN) {
                continue;
            }
            if (type == SentencePieceModelFile.BYTE) {
                if (nBytes == bytes.length) {
                    bytes = Arrays.copyOf(bytes, nBytes * 2);
                }
                bytes[nBytes++] = (byte) model.byteValue(id);
                continue;
            }
            appendBytes(bytes, nBytes, text);
            nBytes = 0;
            if (bosWsSeen || text.length() > 0) {
                isBosWs = false;
            }
            String piece = model.pieces[id];
            bosWsSeen = false;
            if (isBosWs && model.addDummyPrefix && piece.startsWith(SPACE)) {
                piece = piece.substring(SPACE.length());
                bosWsSeen = true;
            }
            text.append(piece.replace(SPACE, " "));
        }
        appendBytes(bytes, nBytes, text);
        return text.toString();
    }

    private static final String SPACE = "\u2581";

    /** The native library's own decode of the non-special ids, for tests comparing it with {@link #decode} on BMP-only text. */
    String nativeDecode(int[] ids) {
        int[] kept = Arrays.stream(ids).filter(id -> {
            checkId(id);
            return model.types[id] != SentencePieceModelFile.CONTROL && model.types[id] != SentencePieceModelFile.UNKNOWN;
        }).toArray();
        return kept.length == 0 ? "" : processor.decode(kept);
    }

    /** SentencePiece's ProcessBytePieces: one character at a time, U+FFFD per invalid byte. */
    private static void appendBytes(byte[] b, int n, StringBuilder out) {
        int i = 0;
        while (i < n) {
            int b0 = b[i] & 0xff;
            int len = 0;
            int cp = 0;
            if (b0 < 0x80) {
                len = 1;
                cp = b0;
            } else if ((b0 & 0xE0) == 0xC0 && n - i >= 2 && trail(b[i + 1])) {
                cp = ((b0 & 0x1F) << 6) | (b[i + 1] & 0x3F);
                len = cp >= 0x80 ? 2 : 0;
            } else if ((b0 & 0xF0) == 0xE0 && n - i >= 3 && trail(b[i + 1]) && trail(b[i + 2])) {
                cp = ((b0 & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F);
                len = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) ? 3 : 0;
            } else if ((b0 & 0xF8) == 0xF0 && n - i >= 4 && trail(b[i + 1]) && trail(b[i + 2]) && trail(b[i + 3])) {
                cp = ((b0 & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6) | (b[i + 3] & 0x3F);
                len = cp >= 0x10000 && cp <= 0x10FFFF ? 4 : 0;
            }
            if (len == 0) {
                out.append('\uFFFD');
                i++;
            } else {
                out.appendCodePoint(cp);
                i += len;
            }
        }
    }

    private static boolean trail(byte b) {
        return (b & 0xC0) == 0x80;
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return model.pieces[id];
    }

    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        int type = model.types[id];
        return type == SentencePieceModelFile.CONTROL || type == SentencePieceModelFile.UNKNOWN;
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
