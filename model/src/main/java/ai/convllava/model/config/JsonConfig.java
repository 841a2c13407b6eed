package ai.convllava.model.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Typed access to one config.json with errors that name the file, the field and the value
 * (Jackson's own messages name neither the file nor the checkpoint field).
 */
final class JsonConfig {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long MAX_CONFIG_BYTES = 16L << 20;

    final Path file;
    final JsonNode root;

    private JsonConfig(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    static JsonConfig read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(file + " not found");
        }
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) {
                throw new ConfigException(file + " is " + Files.size(file) + " bytes; a config is at most " + MAX_CONFIG_BYTES);
            }
            JsonNode root = MAPPER.readTree(file.toFile());
            if (root == null || !root.isObject()) {
                throw new ConfigException(file + " is not a JSON object");
            }
            return new JsonConfig(file, root);
        } catch (JsonProcessingException e) {
            throw new ConfigException(file + " is not valid JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() : ""), e);
        } catch (IOException e) {
            throw new ConfigException(file + " cannot be read: " + e.getMessage(), e);
        }
    }

    String name() {
        return file.getFileName().toString();
    }

    ConfigException error(String field, Object value, String why) {
        return new ConfigException(file + ": " + field + " " + why + " (got " + field + "=" + value + ")");
    }

    boolean has(String field) {
        JsonNode n = root.get(field);
        return n != null && !n.isNull();
    }

    private JsonNode require(String field) {
        JsonNode n = root.get(field);
        if (n == null || n.isNull()) {
            throw new ConfigException(file + ": required field " + field + " is missing");
        }
        return n;
    }

    int integer(String field) {
        JsonNode n = require(field);
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw error(field, n, "must be an integer");
        }
        return n.intValue();
    }

    int integer(String field, int dflt) {
        return has(field) ? integer(field) : dflt;
    }

    double number(String field) {
        JsonNode n = require(field);
        if (!n.isNumber()) {
            throw error(field, n, "must be a number");
        }
        return n.doubleValue();
    }

    double number(String field, double dflt) {
        return has(field) ? number(field) : dflt;
    }

    boolean bool(String field, boolean dflt) {
        if (!has(field)) {
            return dflt;
        }
        JsonNode n = root.get(field);
        if (!n.isBoolean()) {
            throw error(field, n, "must be true or false");
        }
        return n.booleanValue();
    }

    String text(String field) {
        JsonNode n = require(field);
        if (!n.isTextual()) {
            throw error(field, n, "must be a string");
        }
        return n.textValue();
    }

    String text(String field, String dflt) {
        return has(field) ? text(field) : dflt;
    }

    int[] ints(String field) {
        JsonNode n = require(field);
        if (!n.isArray()) {
            throw error(field, n, "must be a list of integers");
        }
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode e = n.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw error(field, n, "must be a list of integers");
            }
            out[i] = e.intValue();
        }
        return out;
    }

    float[] floats(String field) {
        JsonNode n = require(field);
        if (!n.isArray()) {
            throw error(field, n, "must be a list of numbers");
        }
        float[] out = new float[n.size()];
        for (int i = 0; i < out.length; i++) {
            if (!n.get(i).isNumber()) {
                throw error(field, n, "must be a list of numbers");
            }
            out[i] = n.get(i).floatValue();
        }
        return out;
    }

    JsonNode node(String field) {
        return root.get(field);
    }
}
