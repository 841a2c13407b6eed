package ai.convllava.model.spi;

import ai.convllava.model.api.ConvLlavaException;

/** A checkpoint file is malformed, truncated, unsupported or hostile; the message names the file and what is wrong. */
public class CheckpointFormatException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public CheckpointFormatException(String message) {
        super(message);
    }

    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
