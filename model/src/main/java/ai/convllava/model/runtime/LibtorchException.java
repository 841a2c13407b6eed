package ai.convllava.model.runtime;

import ai.convllava.model.api.ConvLlavaException;

/** A libtorch folder that cannot be used: the message names the folder and what is wrong with it. */
public class LibtorchException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public LibtorchException(String message) {
        super(message);
    }

    public LibtorchException(String message, Throwable cause) {
        super(message, cause);
    }
}
