package ai.convllava.model.tokenizer;

import ai.convllava.model.spi.TextTokenizer;
import ai.convllava.model.spi.TokenizerException;

import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a checkpoint folder's tokenizer. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /**
     * Opens the tokenizer of a checkpoint folder: {@code tokenizer.model} when present (ConvLLaVA was
     * trained with the slow SentencePiece tokenizer), else {@code tokenizer.json}.
     *
     * @throws TokenizerException if the folder holds neither file, or the file is unreadable or corrupt
     */
    public static TextTokenizer open(Path modelFolder) {
        Path sp = modelFolder.resolve(TextTokenizer.SENTENCEPIECE_FILE);
        if (Files.isRegularFile(sp)) {
            return SentencePieceTokenizer.open(sp);
        }
        Path hf = modelFolder.resolve(TextTokenizer.HF_TOKENIZER_FILE);
        if (Files.isRegularFile(hf)) {
            return HfTokenizer.open(hf);
        }
        if (!Files.isDirectory(modelFolder)) {
            throw new TokenizerException("Model folder " + modelFolder.toAbsolutePath() + " does not exist or is not a folder");
        }
        throw new TokenizerException("No tokenizer in " + modelFolder.toAbsolutePath() + ": expected " + TextTokenizer.SENTENCEPIECE_FILE
                + " (SentencePiece, as published) or " + TextTokenizer.HF_TOKENIZER_FILE + " (Hugging Face); copy the tokenizer files of the checkpoint into this folder");
    }
}
