package ai.convllava.model.api;

/**
 * Base of every error the engine reports. Messages are written for the user: they name the file,
 * key, field or value involved and, where there is one, the way forward.
 */
public class ConvLlavaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ConvLlavaException(String message) {
        super(message);
    }

    public ConvLlavaException(String message, Throwable cause) {
        super(message, cause);
    }
}
