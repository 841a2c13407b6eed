package ai.convllava.model.nn;

import ai.convllava.model.api.ConvLlavaException;

/** A weight cannot be stored in the chosen format without changing its values (float16 overflow); the message names the key. */
public class WeightRangeException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public WeightRangeException(String message) {
        super(message);
    }
}
