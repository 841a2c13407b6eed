package ai.convllava.model.api.image;

import ai.convllava.model.api.ConvLlavaException;

/** An image file is empty, truncated, too large, of an unsupported format or otherwise unreadable; the message names the file. */
public class ImageDecodeException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public ImageDecodeException(String message) {
        super(message);
    }

    public ImageDecodeException(String message, Throwable cause) {
        super(message, cause);
    }
}
