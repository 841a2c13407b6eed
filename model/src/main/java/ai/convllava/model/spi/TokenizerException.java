package ai.convllava.model.spi;

import ai.convllava.model.api.ConvLlavaException;

/** A tokenizer file is missing, unreadable or malformed, or an id is outside the vocabulary; the message names the file or id. */
public class TokenizerException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
