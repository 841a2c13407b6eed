package ai.convllava.model.reliability;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The figures of one reliability test run, written to {@code target/reliability/<name>.json} (and
 * printed with a {@code [report]} prefix) so that docs/reliability.md can quote a real run.
 */
final class ReliabilityReport {
    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
    static final Path DIR = Path.of("target", "reliability");

    private final String name;
    private final Map<String, Object> values = new LinkedHashMap<>();

    ReliabilityReport(String name) {
        this.name = name;
        values.put("test", name);
        values.put("date", OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS).toString());
        values.put("java", System.getProperty("java.version"));
        values.put("cores", Runtime.getRuntime().availableProcessors());
    }

    ReliabilityReport put(String key, Object value) {
        values.put(key, value);
        return this;
    }

    Map<String, Object> values() {
        return values;
    }

    Path write() {
        try {
            Files.createDirectories(DIR);
            Path file = DIR.resolve(name + ".json");
            String text = JSON.writeValueAsString(values);
            Files.writeString(file, text + "\n");
            System.out.println("[report] " + name + ": " + JSON.writer().withoutFeatures(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(values));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A long from a system property (for running longer locally: -Dconvllava.fuzz.cases=100000). */
    static long longProperty(String key, long dflt) {
        String v = System.getProperty(key);
        return v == null || v.isBlank() ? dflt : Long.parseLong(v.trim());
    }
}
