package ai.convllava.model.tokenizer;

import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.TokenizerException;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A Hugging Face fast tokenizer ({@code tokenizer.json}, as in safetensors conversions of the
 * checkpoint) through DJL's binding of the {@code tokenizers} library: no truncation (DJL's default
 * would cut at 512 tokens), no padding, no special tokens added by {@link #encode}.
 *
 * <p>The JSON is parsed with Jackson first: that validates the file before native code sees it and
 * gives the piece table for {@link #piece} and {@link #vocabSize}.
 */
public final class HfTokenizer implements TextTokenizer {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_JSON_BYTES = 256L << 20;

    private final Path file;
    private final String[] pieces;
    private final boolean[] special;
    private final int bosId;
    private final int eosId;
    private final HuggingFaceTokenizer hf;

    private HfTokenizer(Path file, String[] pieces, boolean[] special, int bosId, int eosId, HuggingFaceTokenizer hf) {
        this.file = file;
        this.pieces = pieces;
        this.special = special;
        this.bosId = bosId;
        this.eosId = eosId;
        this.hf = hf;
    }

    /** @throws TokenizerException if the file is missing, unreadable, not JSON or not a tokenizer.json */
    public static HfTokenizer open(Path file) {
        String where = file.toAbsolutePath().toString();
        JsonNode root;
        try {
            long size = Files.size(file);
            if (size == 0) {
                throw new TokenizerException("Tokenizer file " + where + " is empty (0 bytes); download tokenizer.json again");
            }
            if (size > MAX_JSON_BYTES) {
                throw new TokenizerException("Tokenizer file " + where + " is " + size + " bytes, larger than any tokenizer.json; is it the right file?");
            }
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new TokenizerException("Tokenizer file " + where + " is not valid JSON (" + e.getOriginalMessage()
                    + "); download tokenizer.json again", e);
        } catch (IOException e) {
            throw new TokenizerException("Cannot read tokenizer file " + where + ": " + e, e);
        }
        JsonNode vocab = root == null ? null : root.path("model").get("vocab");
        if (vocab == null || !vocab.isObject() || vocab.isEmpty()) {
            throw new TokenizerException("Tokenizer file " + where + " has no model.vocab object; it is not a Hugging Face tokenizer.json");
        }
        int size = 0;
        for (JsonNode id : vocab) {
            size = Math.max(size, checkedId(id, where) + 1);
        }
        JsonNode added = root.path("added_tokens");
        for (JsonNode t : added) {
            size = Math.max(size, checkedId(t.get("id"), where) + 1);
        }
        String[] pieces = new String[size];
        boolean[] special = new boolean[size];
        for (Map.Entry<String, JsonNode> e : vocab.properties()) {
            pieces[e.getValue().asInt()] = e.getKey();
        }
        for (JsonNode t : added) {
            int id = t.get("id").asInt();
            pieces[id] = t.path("content").asText();
            special[id] = t.path("special").asBoolean(false);
        }
        for (int i = 0; i < size; i++) {
            if (pieces[i] == null) {
                throw new TokenizerException("Tokenizer file " + where + " has no token with id " + i + " (ids must be contiguous up to " + (size - 1) + ")");
            }
        }
        int bos = indexOf(pieces, "<s>", where);
        int eos = indexOf(pieces, "</s>", where);
        HuggingFaceTokenizer hf;
        try {
            hf = HuggingFaceTokenizer.builder()
                    .optTokenizerPath(file)
                    .optAddSpecialTokens(false)
                    .optTruncation(false) // DJL truncates at 512 tokens by default
                    .optPadding(false)
                    .build();
        } catch (IOException | RuntimeException | UnsatisfiedLinkError e) {
            throw new TokenizerException("The Hugging Face tokenizers library could not load " + where + ": " + e.getMessage(), e);
        }
        return new HfTokenizer(file, pieces, special, bos, eos, hf);
    }

    private static int checkedId(JsonNode id, String where) {
        if (id == null || !id.canConvertToInt() || id.asInt() < 0 || id.asInt() > 10_000_000) {
            throw new TokenizerException("Tokenizer file " + where + " has an invalid token id: " + id);
        }
        return id.asInt();
    }

    private static int indexOf(String[] pieces, String piece, String where) {
        for (int i = 0; i < pieces.length; i++) {
            if (piece.equals(pieces[i])) {
                return i;
            }
        }
        throw new TokenizerException("Tokenizer file " + where + " has no " + piece + " token; it is not a LLaMA tokenizer");
    }

    @Override
    public int[] encode(String text) {
        if (text.isEmpty()) {
            return new int[0];
        }
        long[] ids = hf.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    @Override
    public String decode(int[] ids) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            checkId(ids[i]);
            longs[i] = ids[i];
        }
        return hf.decode(longs, true);
    }

    @Override
    public String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    /** Whether {@code id} is an added token marked special (skipped by {@link #decode}). */
    @Override
    public boolean isSpecial(int id) {
        checkId(id);
        return special[id];
    }

    @Override
    public int bosId() {
        return bosId;
    }

    @Override
    public int eosId() {
        return eosId;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public String describe() {
        return "Hugging Face tokenizer " + file.toAbsolutePath() + " (" + vocabSize() + " tokens, bos=" + bosId + ", eos=" + eosId + ")";
    }

    @Override
    public void close() {
        hf.close();
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new TokenizerException("Token id " + id + " is outside the vocabulary of " + file.getFileName()
                    + " (size " + pieces.length + ")");
        }
    }
}
