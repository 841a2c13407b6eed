package ai.convllava.model.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Paths and JSON vectors from tests/fixtures (README there says how they were made). */
final class TokenizerFixtures {
    private TokenizerFixtures() {
    }

    static Path root() {
        String dir = System.getProperty("convllava.fixtures");
        if (dir == null) {
            throw new IllegalStateException("system property convllava.fixtures is not set (surefire sets it)");
        }
        Path p = Path.of(dir);
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("fixtures folder " + p + " does not exist");
        }
        return p;
    }

    static Path tinyFolder() {
        return root().resolve("tiny/tiny-convllava");
    }

    static Path tinySafetensorsFolder() {
        return root().resolve("tiny/tiny-convllava-safetensors");
    }

    static Path llamaModel() {
        return root().resolve("llama/llama-tokenizer.model");
    }

    static Path llamaJson() {
        return root().resolve("llama/llama-tokenizer.json");
    }

    static JsonNode golden() {
        return read(root().resolve("tiny/golden.json"));
    }

    static JsonNode llamaVectors() {
        return read(root().resolve("llama/llama_tokenization.json"));
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }

    /** ids without the leading BOS of a golden row (which always starts with BOS 1). */
    static int[] withoutBos(int[] ids) {
        if (ids.length == 0 || ids[0] != 1) {
            throw new IllegalArgumentException("golden row does not start with BOS");
        }
        return java.util.Arrays.copyOfRange(ids, 1, ids.length);
    }

    private static JsonNode read(Path p) {
        try {
            return new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
