package ai.convllava.model.api;

/**
 * A model was refused before loading because it would not fit: the RAM available, or for 8-bit and
 * 4-bit weights the Java heap. The message has the numbers; smaller weights ({@link WeightFormat#Q4_K})
 * are the usual way forward.
 */
public class NotEnoughMemoryException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public NotEnoughMemoryException(String message) {
        super(message);
    }
}
