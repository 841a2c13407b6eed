package ai.convllava.app.cli;

import ai.convllava.app.TestPdfs;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static ai.convllava.app.cli.AskCommandTest.QUESTION;
import static ai.convllava.app.cli.AskCommandTest.TINY;
import static ai.convllava.app.cli.AskCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ask} over a folder, a PDF's pages and a file of questions, on the tiny model: records, errors, CSV and --resume. */
class BatchAskTest {
    static final String MODEL = TINY.resolve("tiny-convllava").toString();
    static final String SECOND = "Which colour is the bar on the left, and why?";

    @TempDir
    Path tmp;

    /** wide.png, tall.png, report.pdf (2 pages), bad.png (not an image) and notes.txt (not picked: its name). */
    Path folder() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("inbox"));
        Files.copy(TINY.resolve("images/wide.png"), dir.resolve("wide.png"));
        Files.copy(TINY.resolve("images/tall.png"), dir.resolve("tall.png"));
        TestPdfs.twoPages(dir);
        Files.writeString(dir.resolve("bad.png"), "not a png");
        Files.writeString(dir.resolve("notes.txt"), "not an image");
        return dir;
    }

    Path questions() throws IOException {
        return Files.writeString(tmp.resolve("questions.txt"), "# asked of every page\n" + QUESTION + "\n\n" + SECOND + "\n");
    }

    static List<JsonNode> jsonl(String text) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank()) {
                out.add(new ObjectMapper().readTree(line));
            }
        }
        return out;
    }

    @Test
    void everyImageAndPageWithEveryQuestionEachAnsweredAsAlone() throws IOException {
        AskCommandTest.Run r = run("ask", "--model", MODEL, "--image", folder().toString(), "--questions", questions().toString(), "--max-new-tokens", "6");
        assertEquals(1, r.code(), "bad.png failed: " + r.err());
        List<JsonNode> recs = jsonl(r.out());
        assertEquals(10, recs.size(), "(bad, report p1, report p2, tall, wide) x 2 questions: " + r.out());
        List<String> order = recs.stream().map(j -> Path.of(j.get("file").asText()).getFileName() + (j.has("page") ? " p" + j.get("page").asInt() : "")
                + " " + (j.get("question").asText().equals(QUESTION) ? 1 : 2)).toList();
        assertEquals(List.of("bad.png 1", "bad.png 2", "report.pdf p1 1", "report.pdf p1 2", "report.pdf p2 1", "report.pdf p2 2",
                "tall.png 1", "tall.png 2", "wide.png 1", "wide.png 2"), order);
        JsonNode bad = recs.get(0);
        assertTrue(bad.get("error").asText().contains("bad.png"), bad.toString());
        assertFalse(bad.has("answer"));
        for (JsonNode j : recs.subList(2, 10)) {
            assertFalse(j.has("error"), j.toString());
            assertEquals(6, j.get("generated_tokens").asInt());
            assertTrue(j.get("prompt_tokens").asInt() > 0 && j.has("ttft_ms") && j.has("decode_tokens_per_s"), j.toString());
        }
        // a question's answer does not depend on the questions before it: the same as asking it alone
        for (int i : new int[]{8, 9}) {
            JsonNode j = recs.get(i);
            AskCommandTest.Run alone = run("ask", "--model", MODEL, "--image", j.get("file").asText(), "--question", j.get("question").asText(),
                    "--max-new-tokens", "6");
            assertEquals(alone.out().strip(), j.get("answer").asText().strip());
        }
        assertTrue(r.err().contains("5 images or pages x 2 questions = 10 answers"), r.err());
        assertTrue(r.err().contains("[10/10]") && r.err().contains("done in"), r.err());
        assertTrue(r.err().contains("1 of 10 answers failed") || r.err().contains("2 of 10 answers failed"), r.err());
    }

    @Test
    void resumeAsksOnlyWhatTheOutputDoesNotHaveYet() throws IOException {
        Path out = tmp.resolve("answers.jsonl");
        Path pdf = TestPdfs.twoPages(tmp);
        String[] args = {"ask", "--model", MODEL, "--image", pdf.toString(), "--image", TINY.resolve("images/wide.png").toString(),
                "--questions", questions().toString(), "--max-new-tokens", "4", "--output", out.toString()};
        assertEquals(0, run(args).code());
        List<String> full = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(6, full.size());
        AskCommandTest.Run again = run(args);
        assertEquals(1, again.code());
        assertTrue(again.err().contains("already exists: add --resume"), again.err());
        // interrupted after four records, the fifth cut off half-way
        Files.writeString(out, String.join("\n", full.subList(0, 4)) + "\n" + full.get(4).substring(0, 20), StandardCharsets.UTF_8);
        String[] resume = java.util.stream.Stream.concat(java.util.Arrays.stream(args), java.util.stream.Stream.of("--resume")).toArray(String[]::new);
        AskCommandTest.Run r = run(resume);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("4 already in " + out + ", 2 to go"), r.err());
        Set<String> keys = new HashSet<>();
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(full.get(4).substring(0, 20), lines.get(4), "the cut-off line stays as it was, alone on its line");
        for (String line : lines.subList(5, lines.size())) {
            JsonNode j = new ObjectMapper().readTree(line);
            keys.add(j.get("file").asText() + j.path("page").asInt() + j.get("question").asText());
        }
        for (String line : lines.subList(0, 4)) {
            JsonNode j = new ObjectMapper().readTree(line);
            keys.add(j.get("file").asText() + j.path("page").asInt() + j.get("question").asText());
        }
        assertEquals(6, keys.size(), "every record is there once the run is resumed");
        assertEquals(0, run(resume).code());
        assertTrue(run(resume).err().contains("6 already in"), "nothing left to ask");
    }

    @Test
    void csvQuotesAnswersAndResumesFromItsOwnRecords() throws IOException {
        Path out = tmp.resolve("answers.csv");
        Path pdf = TestPdfs.twoPages(tmp);
        String[] args = {"ask", "--model", MODEL, "--image", pdf.toString(), "--pages", "2", "--question", "Say \"yes\", then, on a new line, no",
                "--max-new-tokens", "4", "--format", "csv", "--output", out.toString(), "--resume"};
        assertEquals(0, run(args).code());
        AskCommandTest.Run again = run(args);
        assertEquals(0, again.code());
        assertTrue(again.err().contains("1 already in"), again.err());
        CsvMapper csv = new CsvMapper();
        List<Map<String, String>> rows = new ArrayList<>();
        try (var it = csv.readerFor(Map.class).with(CsvSchema.emptySchema().withHeader()).<Map<String, String>>readValues(out.toFile())) {
            it.forEachRemaining(rows::add);
        }
        assertEquals(1, rows.size(), "one header, one record");
        assertEquals(BatchOutput.COLUMNS, List.copyOf(rows.get(0).keySet()));
        assertEquals("2", rows.get(0).get("page"));
        assertEquals("Say \"yes\", then, on a new line, no", rows.get(0).get("question"));
    }

    @Test
    void badBatchArgumentsAreOneLineErrors() throws IOException {
        Path pdf = TestPdfs.twoPages(tmp);
        AskCommandTest.Run r = run("ask", "--model", MODEL, "--image", pdf.toString(), "--pages", "3-1", "--question", "q");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--pages 3-1: \"3-1\" is not a page or a range of pages counted from 1"), r.err());
        r = run("ask", "--model", MODEL, "--image", pdf.toString(), "--pages", "7", "--question", "q");
        assertTrue(r.err().contains("--pages 7 names no page of report.pdf, which has 2"), r.err());
        r = run("ask", "--model", MODEL, "--image", pdf.toString(), "--question", "q", "--questions", questions().toString());
        assertTrue(r.err().contains("(one of them)"), r.err());
        r = run("ask", "--model", MODEL, "--image", pdf.toString(), "--image", pdf.toString(), "--question", "q", "--json");
        assertTrue(r.err().contains("--json is for one answer"), r.err());
        Files.createDirectories(tmp.resolve("empty"));
        r = run("ask", "--model", MODEL, "--image", tmp.resolve("empty").toString(), "--question", "q");
        assertTrue(r.err().contains("has no PNG, JPEG, GIF, BMP, WebP or PDF files"), r.err());
        Path blank = Files.writeString(tmp.resolve("blank.txt"), "# nothing\n\n");
        r = run("ask", "--model", MODEL, "--image", pdf.toString(), "--questions", blank.toString());
        assertTrue(r.err().contains("holds no question"), r.err());
    }

    @Test
    void pageSpecs() {
        assertEquals(List.of(1, 2, 3, 4, 5, 8), BatchInputs.pages("1-5, 8", 10, "a.pdf"));
        assertEquals(List.of(2, 3), BatchInputs.pages("2-9", 3, "a.pdf"), "a range past the end stops at the last page");
        assertEquals(List.of(1, 2, 3), BatchInputs.pages(null, 3, "a.pdf"));
        assertThrows(IllegalArgumentException.class, () -> BatchInputs.pages("x", 3, "a.pdf"));
        assertThrows(IllegalArgumentException.class, () -> BatchInputs.pages("0", 3, "a.pdf"));
        assertEquals("12 s", BatchAsk.duration(12.4));
        assertEquals("3 min", BatchAsk.duration(170));
        assertEquals("2.5 h", BatchAsk.duration(9000));
    }
}
