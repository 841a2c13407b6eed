package ai.convllava.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ai.convllava.app.TestPdfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code convllava ask} end to end on the tiny model, and its one-line errors. */
class AskCommandTest {
    static final Path TINY = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures"), "tiny");
    static final String QUESTION = "What is the tallest bar in this chart?";

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = ConvLlavaCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    static JsonNode golden() throws IOException {
        return new ObjectMapper().readTree(TINY.resolve("golden.json").toFile());
    }

    @Test
    void streamsTheGoldenAnswerForBothCheckpointLayouts() throws IOException {
        for (String folder : new String[] {"tiny-convllava", "tiny-convllava-safetensors"}) {
            Run r = run("ask", "--model", TINY.resolve(folder).toString(), "--image", TINY.resolve("images/wide.png").toString(),
                    "--question", QUESTION, "--max-new-tokens", "16");
            assertEquals(0, r.code(), r.err());
            assertEquals(golden().get("generated").get("wide.pad").get("text").asText(), r.out().strip());
            assertTrue(r.err().contains("16 generated"), r.err());
        }
    }

    @Test
    void jsonRecordCarriesIdsGridTimingsAndAttention() throws IOException {
        Run r = run("ask", "--model", TINY.resolve("tiny-convllava").toString(), "--image", TINY.resolve("images/wide.png").toString(),
                "--question", QUESTION, "--max-new-tokens", "16", "--mode", "native", "--json", "--attention");
        assertEquals(0, r.code(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        JsonNode want = golden().get("generated").get("wide.native");
        assertEquals(want.get("text").asText(), j.get("text").asText());
        assertEquals(want.get("ids"), j.get("generated_ids"));
        assertEquals("LENGTH", j.get("finish_reason").asText());
        assertEquals(want.get("sequence_length").asInt(), j.get("prompt_tokens").asInt());
        assertEquals(24, j.get("image_tokens").asInt());
        assertEquals(4, j.get("grid").get(0).asInt());
        assertEquals(6, j.get("grid").get(1).asInt());
        assertTrue(j.get("timings").get("decode_tokens_per_s").asDouble() > 0);
        assertEquals(2, j.get("image_attention").size());
        assertEquals(24, j.get("image_attention").get(0).size());
    }

    @Test
    void aPageOfAPdfIsAskedAboutAsItsImage(@TempDir Path tmp) throws IOException {
        Path pdf = TestPdfs.twoPages(tmp);
        // the same page saved as a PNG gets the same answer: the page is what the model sees
        ai.convllava.model.api.image.RgbImage page2 = ai.convllava.model.image.ImageDecoder.decodeFile(pdf, 2).image();
        java.awt.image.BufferedImage bi = new java.awt.image.BufferedImage(page2.width(), page2.height(), java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < page2.height(); y++) {
            for (int x = 0; x < page2.width(); x++) {
                int i = (y * page2.width() + x) * 3;
                byte[] p = page2.rgb();
                bi.setRGB(x, y, (p[i] & 0xFF) << 16 | (p[i + 1] & 0xFF) << 8 | (p[i + 2] & 0xFF));
            }
        }
        Path png = tmp.resolve("page2.png");
        javax.imageio.ImageIO.write(bi, "png", png.toFile());
        String model = TINY.resolve("tiny-convllava").toString();
        Run fromPdf = run("ask", "--model", model, "--image", pdf.toString(), "--page", "2", "--question", QUESTION, "--max-new-tokens", "8",
                "--mode", "native", "--json");
        Run fromPng = run("ask", "--model", model, "--image", png.toString(), "--question", QUESTION, "--max-new-tokens", "8",
                "--mode", "native", "--json");
        assertEquals(0, fromPdf.code(), fromPdf.err());
        assertEquals(0, fromPng.code(), fromPng.err());
        JsonNode a = new ObjectMapper().readTree(fromPdf.out());
        JsonNode b = new ObjectMapper().readTree(fromPng.out());
        assertEquals(b.get("generated_ids"), a.get("generated_ids"));
        assertEquals(b.get("grid"), a.get("grid"));
        assertEquals(6, a.get("grid").get(1).asInt(), "a landscape page keeps its aspect in native mode: " + a.get("grid"));

        Run noSuchPage = run("ask", "--model", model, "--image", pdf.toString(), "--page", "3", "--question", "q");
        assertEquals(1, noSuchPage.code());
        assertEquals("error: report.pdf has 2 pages; there is no page 3", noSuchPage.err().strip());
        Run pageOfAPng = run("ask", "--model", model, "--image", png.toString(), "--page", "2", "--question", "q");
        assertEquals(1, pageOfAPng.code());
        assertEquals("error: --page 2 is for PDF documents; page2.png is an image", pageOfAPng.err().strip());
        Run missing = run("ask", "--model", model, "--image", tmp.resolve("gone.pdf").toString(), "--page", "2", "--question", "q");
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("error: gone.pdf was not found"), missing.err());
    }

    @Test
    void badInputsGiveOneClearLineAndANonZeroExit(@TempDir Path tmp) throws IOException {
        Path empty = Files.createFile(tmp.resolve("empty.png"));
        byte[] png = Files.readAllBytes(TINY.resolve("images/wide.png"));
        Path truncated = Files.write(tmp.resolve("truncated.png"), java.util.Arrays.copyOf(png, png.length / 2));
        String model = TINY.resolve("tiny-convllava").toString();
        String image = TINY.resolve("images/wide.png").toString();
        String[][] cases = {
            {"ask", "--model", tmp.resolve("nope").toString(), "--image", image, "--question", "q"},
            {"ask", "--model", tmp.toString(), "--image", image, "--question", "q"},
            {"ask", "--model", model, "--image", empty.toString(), "--question", "q"},
            {"ask", "--model", model, "--image", truncated.toString(), "--question", "q"},
            {"ask", "--model", model, "--image", tmp.resolve("missing.png").toString(), "--question", "q"},
            {"ask", "--model", model, "--image", image, "--question", "q", "--mode", "stretch"},
            {"ask", "--model", model, "--image", image, "--question", "q", "--temperature", "-1"},
            {"ask", "--model", model, "--image", image, "--question", "q", "--weights", "int4"},
            {"ask", "--model", model, "--image", image, "--question", "q", "--tower", "swapped"},
        };
        String[] mustMention = {"nope", "config.json", "empty.png", "truncated.png", "missing.png", "--mode", "temperature", "--weights",
            "--tower"};
        for (int i = 0; i < cases.length; i++) {
            Run r = run(cases[i]);
            assertEquals(1, r.code(), String.join(" ", cases[i]) + "\n" + r.err());
            String[] lines = r.err().strip().split("\n");
            assertEquals(1, lines.length, "one line, no stack trace: " + r.err());
            assertTrue(lines[0].startsWith("error: ") && lines[0].contains(mustMention[i]), lines[0]);
            assertFalse(r.err().contains("\tat "), r.err());
        }
    }

    @Test
    void corruptCheckpointIsReportedWithTheFileName(@TempDir Path tmp) throws IOException {
        Path model = tmp.resolve("tiny-convllava");
        Files.createDirectories(model);
        try (var files = Files.list(TINY.resolve("tiny-convllava"))) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, model.resolve(f.getFileName()));
            }
        }
        Path shard = model.resolve("pytorch_model-00002-of-00002.bin");
        byte[] b = Files.readAllBytes(shard);
        Files.write(shard, java.util.Arrays.copyOf(b, b.length - 4000));
        Run r = run("ask", "--model", model.toString(), "--image", TINY.resolve("images/wide.png").toString(), "--question", "q");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("pytorch_model-00002-of-00002.bin"), r.err());
        Run verbose = run("ask", "--model", model.toString(), "--image", TINY.resolve("images/wide.png").toString(), "--question", "q",
                "--verbose");
        assertTrue(verbose.err().contains("\tat "), "--verbose prints the stack trace");
    }
}
