package ai.convllava.model.quant;

import ai.convllava.model.api.ConvLlavaException;

/** A GGUF file that cannot be read or written as it must be; the message names the file, the tensor or key, and the numbers. */
public final class GgufException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public GgufException(String message) {
        super(message);
    }

    public GgufException(String message, Throwable cause) {
        super(message, cause);
    }
}
