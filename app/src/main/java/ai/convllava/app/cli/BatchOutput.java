package ai.convllava.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The records of a batch {@code ask}, one per image (or PDF page) and question, as JSON Lines or CSV,
 * written and flushed one at a time so that an interrupted run keeps what it finished, and read back for
 * {@code --resume}.
 */
final class BatchOutput {
    enum Format {
        JSONL, CSV;

        static Format parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "jsonl", "json" -> JSONL;
                case "csv" -> CSV;
                default -> throw new IllegalArgumentException("--format must be jsonl or csv (got " + s + ")");
            };
        }
    }

    /** The columns, in order; also the JSON fields. */
    static final List<String> COLUMNS = List.of("file", "page", "question", "answer", "finish_reason", "prompt_tokens", "generated_tokens",
            "preprocess_ms", "vision_encode_ms", "prefill_ms", "ttft_ms", "decode_tokens_per_s", "error");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CsvMapper CSV_MAPPER = new CsvMapper();
    private static final CsvSchema SCHEMA;

    static {
        CsvSchema.Builder b = CsvSchema.builder();
        COLUMNS.forEach(b::addColumn);
        SCHEMA = b.build().withHeader();
    }

    private final Format format;
    private final PrintWriter out;
    private boolean headerDue;

    /**
     * @param headerDue the CSV header is still to be written (a new file or stdout, not a resumed file)
     */
    BatchOutput(Format format, PrintWriter out, boolean headerDue) {
        this.format = format;
        this.out = out;
        this.headerDue = headerDue;
    }

    /** Identifies a record for --resume: the file as given, the page and the question. */
    static String key(String file, int page, String question) {
        return file + "\u0000" + page + "\u0000" + question;
    }

    /** Writes one record (values by {@link #COLUMNS} name; missing ones empty) and flushes it. */
    void write(Map<String, Object> values) {
        try {
            if (format == Format.JSONL) {
                ObjectNode o = JSON.createObjectNode();
                for (String c : COLUMNS) {
                    Object v = values.get(c);
                    if (v != null) {
                        o.set(c, JSON.valueToTree(v));
                    }
                }
                out.println(JSON.writeValueAsString(o));
            } else {
                Map<String, Object> row = new LinkedHashMap<>();
                for (String c : COLUMNS) {
                    Object v = values.get(c);
                    row.put(c, v == null ? "" : v);
                }
                out.print(CSV_MAPPER.writer(headerDue ? SCHEMA : SCHEMA.withoutHeader()).writeValueAsString(row));
                headerDue = false;
            }
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The keys of the records already in {@code file} that have an answer (an errored record is asked
     * again); a last line cut off by an interruption is ignored.
     */
    static Set<String> done(Path file, Format format) {
        Set<String> keys = new HashSet<>();
        if (!Files.isRegularFile(file)) {
            return keys;
        }
        try {
            if (format == Format.JSONL) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) {
                        continue;
                    }
                    JsonNode n;
                    try {
                        n = JSON.readTree(line);
                    } catch (IOException cutOff) {
                        continue;
                    }
                    addIfAnswered(keys, n.path("file").asText(), n.path("page").asInt(0), n.path("question").asText(), n.path("error").asText(""));
                }
            } else {
                try (MappingIterator<Map<String, String>> it = CSV_MAPPER.readerFor(Map.class).with(SCHEMA).readValues(file.toFile())) {
                    while (it.hasNextValue()) {
                        Map<String, String> row;
                        try {
                            row = it.nextValue();
                        } catch (RuntimeException cutOff) {
                            break;
                        }
                        int page;
                        try {
                            page = row.getOrDefault("page", "").isEmpty() ? 0 : Integer.parseInt(row.get("page"));
                        } catch (NumberFormatException e) {
                            continue;
                        }
                        addIfAnswered(keys, row.getOrDefault("file", ""), page, row.getOrDefault("question", ""), row.getOrDefault("error", ""));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " to resume it: " + e.getMessage(), e);
        }
        return keys;
    }

    private static void addIfAnswered(Set<String> keys, String file, int page, String question, String error) {
        if (error == null || error.isEmpty()) {
            keys.add(key(file, page, question));
        }
    }
}
