package ai.convllava.model.config;

import ai.convllava.model.api.ConvLlavaException;

/** A config.json (or a folder layout) is missing, unreadable or holds an invalid value; names file, field and value. */
public class ConfigException extends ConvLlavaException {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
