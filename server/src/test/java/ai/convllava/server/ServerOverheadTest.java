package ai.convllava.server;

import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.ImageFiles;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.diagnostics.MachineProbe;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the HTTP server adds to a question: the same request on the tiny model, in process
 * ({@code session.ask} on the current image) and over HTTP (JSON, base64 and PNG decoding, the queue,
 * the response), alternated so both see the same machine, paired differences reported. A short run
 * checks the measurement works; {@code -Dconvllava.serverBench.iterations=300
 * -Dconvllava.serverBench.out=FILE} writes the numbers (docs/bench/server-overhead.json). No
 * assertion on the numbers: this 2-core machine is shared, they go to docs with their date.
 */
class ServerOverheadTest {
    static final String OUT_PROPERTY = "convllava.serverBench.out";
    /** The fast suite's check is short (a few seconds); the measurement for docs runs with the properties. */
    static final int ITERATIONS = Integer.getInteger("convllava.serverBench.iterations", 5);
    static final String OUT = System.getProperty(OUT_PROPERTY, "target/server-overhead.json");

    @Test
    void measuresTheHttpRoundTripAgainstTheInProcessCall() throws Exception {
        try (ServerFixture f = ServerFixture.start()) {
            RgbImage image = ImageFiles.read(ServerFixture.WIDE);
            ObjectNode report = ServerFixture.JSON.createObjectNode();
            report.put("what", "server overhead: HTTP round trip minus the in-process session.ask, same request, tiny model, paired runs");
            report.put("date", Instant.now().toString());
            report.put("machine", Runtime.getRuntime().availableProcessors() + " cores, Java " + System.getProperty("java.version")
                    + ", load average " + MachineProbe.loadAverage());
            report.put("image", "tests/fixtures/tiny/images/wide.png, " + image.width() + " x " + image.height() + ", "
                    + Files.size(ServerFixture.WIDE) + " bytes (base64 in the request)");
            report.put("iterations", ITERATIONS);
            report.set("components", components(f));
            ArrayNode rows = report.putArray("runs");
            for (int maxTokens : System.getProperty(OUT_PROPERTY) != null ? new int[] {1, 16} : new int[] {1}) {
                for (boolean stream : new boolean[] {false, true}) {
                    rows.add(measure(f, image, maxTokens, stream));
                }
            }
            Path out = Path.of(OUT);
            if (out.getParent() != null) {
                Files.createDirectories(out.getParent());
            }
            Files.writeString(out, ServerFixture.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report) + "\n");
            System.out.println("[report] " + report);
            assertTrue(rows.size() >= 2);
        }
    }

    private static ObjectNode measure(ServerFixture f, RgbImage image, int maxTokens, boolean stream) {
        String body = ServerFixture.simpleRequest(stream).replace("\"max_tokens\": 16", "\"max_tokens\": " + maxTokens);
        ChatRequest request = ChatRequest.question(ServerFixture.QUESTION, GenerationConfig.greedy(maxTokens));
        // in process, the image already current, as the app asks once an image is shown
        f.session.setImage(image, CanvasMode.PAD, false).join();
        int warmup = Math.max(5, ITERATIONS / 10);
        double[] local = new double[ITERATIONS];
        double[] http = new double[ITERATIONS];
        double[] diff = new double[ITERATIONS];
        double[] added = new double[ITERATIONS];
        for (int i = -warmup; i < ITERATIONS; i++) {
            long t0 = System.nanoTime();
            GenerationResult r = f.session.ask(request, AnswerListener.NONE).join();
            long t1 = System.nanoTime();
            HttpResponse<String> resp = f.chat(body);
            long t2 = System.nanoTime();
            assertEquals(200, resp.statusCode(), resp.body());
            assertEquals(maxTokens, r.generatedIds().length);
            if (i >= 0) {
                local[i] = (t1 - t0) / 1e6;
                http[i] = (t2 - t1) / 1e6;
                diff[i] = http[i] - local[i];
                added[i] = http[i] - sessionMs(resp.body(), stream);
            }
        }
        ObjectNode o = ServerFixture.JSON.createObjectNode();
        o.put("max_tokens", maxTokens);
        o.put("stream", stream);
        o.put("in_process_ms_median", round(median(local)));
        o.put("http_ms_median", round(median(http)));
        // what the server added within each request: its round trip minus the session's own time (same moment, same load)
        o.put("overhead_ms_median", round(median(added)));
        o.put("overhead_ms_p10", round(percentile(added, 0.10)));
        o.put("overhead_ms_p90", round(percentile(added, 0.90)));
        // the pair's difference (HTTP minus the in-process call just before it): the same quantity, but two runs of the model
        // apart, so it carries the model's own run-to-run spread on a busy machine
        o.put("paired_difference_ms_median", round(median(diff)));
        assertTrue(median(added) > 0, "a round trip cannot take less than the session's time in it");
        return o;
    }

    /** Where the overhead goes: the request's parsing alone (in process), and an HTTP round trip that reaches no model. */
    private static ObjectNode components(ServerFixture f) throws Exception {
        ChatRequestParser parser = new ChatRequestParser(ServerOptions.defaults());
        byte[] body = ServerFixture.simpleRequest(false).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        double[] parse = new double[ITERATIONS];
        double[] models = new double[ITERATIONS];
        java.net.http.HttpRequest get = java.net.http.HttpRequest.newBuilder(f.uri("/v1/models")).GET().build();
        for (int i = -Math.max(5, ITERATIONS / 10); i < ITERATIONS; i++) {
            long t0 = System.nanoTime();
            parser.parse(ServerFixture.JSON.readTree(body));
            long t1 = System.nanoTime();
            assertEquals(200, f.send(get).statusCode());
            long t2 = System.nanoTime();
            if (i >= 0) {
                parse[i] = (t1 - t0) / 1e6;
                models[i] = (t2 - t1) / 1e6;
            }
        }
        ObjectNode o = ServerFixture.JSON.createObjectNode();
        o.put("parse_request_ms_median", round(median(parse)));
        o.put("http_round_trip_without_model_ms_median", round(median(models)));
        o.put("http_round_trip_without_model_ms_p90", round(percentile(models, 0.9)));
        return o;
    }

    /** The session's time for this request, from our extension (the last chunk's when streamed). */
    static double sessionMs(String body, boolean stream) {
        if (!stream) {
            return ServerFixture.parse(body).at("/convllava/timings/session_ms").asDouble();
        }
        for (String e : body.split("\n\n")) {
            if (e.startsWith("data: {") && e.contains("\"session_ms\"")) {
                return ServerFixture.parse(e.substring(6)).at("/convllava/timings/session_ms").asDouble();
            }
        }
        throw new AssertionError("no session_ms in the stream");
    }

    static double median(double[] a) {
        return percentile(a, 0.5);
    }

    static double percentile(double[] a, double p) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.floor(p * s.length))];
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
