package ai.convllava.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test-only reader of {@code tiny/golden.safetensors} (u64 LE header length, JSON header
 * {@code {name: {dtype, shape, data_offsets: [b, e]}}}, then the data). To be replaced by the engine's
 * safetensors reader once it exists.
 */
public final class Goldens {
    private static volatile Goldens instance;

    private final JsonNode header;
    private final ByteBuffer data;

    private Goldens(Path file) {
        try {
            byte[] all = Files.readAllBytes(file);
            ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            long n = b.getLong(0);
            if (n <= 0 || 8 + n > all.length) {
                throw new IllegalStateException(file + ": bad header length " + n);
            }
            header = new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
            data = ByteBuffer.wrap(all, 8 + (int) n, all.length - 8 - (int) n).slice().order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The fixtures folder surefire passes as {@code -Dconvllava.fixtures}. */
    public static Path fixtures() {
        String dir = System.getProperty("convllava.fixtures");
        if (dir == null) {
            throw new IllegalStateException("system property convllava.fixtures is not set (surefire sets it)");
        }
        return Path.of(dir);
    }

    private static Goldens get() {
        Goldens g = instance;
        if (g == null) {
            synchronized (Goldens.class) {
                if (instance == null) {
                    instance = new Goldens(fixtures().resolve("tiny/golden.safetensors"));
                }
                g = instance;
            }
        }
        return g;
    }

    private JsonNode entry(String key) {
        JsonNode e = header.get(key);
        if (e == null) {
            throw new IllegalArgumentException("no tensor " + key + " in golden.safetensors");
        }
        return e;
    }

    public static long[] shape(String key) {
        JsonNode s = get().entry(key).get("shape");
        long[] out = new long[s.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.get(i).asLong();
        }
        return out;
    }

    private static ByteBuffer bytes(String key, String dtype, int width) {
        Goldens g = get();
        JsonNode e = g.entry(key);
        String actual = e.get("dtype").asText();
        if (!actual.equals(dtype)) {
            throw new IllegalArgumentException(key + " is " + actual + ", not " + dtype);
        }
        int begin = e.get("data_offsets").get(0).asInt();
        int end = e.get("data_offsets").get(1).asInt();
        if ((end - begin) % width != 0) {
            throw new IllegalStateException(key + ": " + (end - begin) + " bytes is not a whole number of " + dtype);
        }
        return g.data.duplicate().order(ByteOrder.LITTLE_ENDIAN).position(begin).limit(end).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    public static float[] floats(String key) {
        ByteBuffer b = bytes(key, "F32", 4);
        float[] out = new float[b.remaining() / 4];
        b.asFloatBuffer().get(out);
        return out;
    }

    public static long[] longs(String key) {
        ByteBuffer b = bytes(key, "I64", 8);
        long[] out = new long[b.remaining() / 8];
        b.asLongBuffer().get(out);
        return out;
    }
}
