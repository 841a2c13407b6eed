package ai.convllava.model.spi;

import ai.convllava.model.api.ConvLlavaException;

/** A weight the model needs is absent or has the wrong shape; the message names key, expected shape and shard. */
public class MissingWeightException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public MissingWeightException(String message) {
        super(message);
    }
}
