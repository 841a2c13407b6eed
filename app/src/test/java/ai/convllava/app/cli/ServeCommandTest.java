package ai.convllava.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code convllava serve}: refuses an exposed address without a key before loading anything; serves the tiny model. */
class ServeCommandTest {
    static final Path TINY = AskCommandTest.TINY;

    @Test
    void anotherAddressWithoutAKeyIsRefusedWithTheWayOut() {
        AskCommandTest.Run r = AskCommandTest.run("serve", "--host", "0.0.0.0", "--model", "/nonexistent");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("binding to 0.0.0.0 exposes the model to the network: give an API key (--api-key or CONVLLAVA_API_KEY)"), r.err());
    }

    @Test
    void allowFilesMustBeAFolder() {
        AskCommandTest.Run r = AskCommandTest.run("serve", "--allow-files", "/nonexistent-folder", "--model", "/nonexistent");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--allow-files /nonexistent-folder is not a folder"), r.err());
    }

    @Test
    void servesTheTinyModelUntilStopped() throws Exception {
        ServeCommand cmd = new ServeCommand();
        CommandLine cl = new CommandLine(cmd);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> cl.execute("--port", "0", "--api-key", "k",
                "--model", TINY.resolve("tiny-convllava").toString()));
        CompletableFuture.anyOf(cmd.started, code).get(120, TimeUnit.SECONDS); // listening, or ended with an error
        assertTrue(cmd.started.isDone(), "serve ended: " + err);
        ai.convllava.server.OpenAiServer server = cmd.started.get();
        String png = Base64.getEncoder().encodeToString(Files.readAllBytes(TINY.resolve("images/wide.png")));
        String body = "{\"max_tokens\": 3, \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"What?\"},"
                + " {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64," + png + "\"}}]}]}";
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.baseUri() + "/chat/completions"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer k").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = new ObjectMapper().readTree(r.body());
        assertEquals(3, j.at("/usage/completion_tokens").asInt());
        cmd.stop.complete(null);
        assertEquals(0, code.get(60, TimeUnit.SECONDS));
        assertTrue(out.toString().contains("serving tiny-convllava at http://127.0.0.1:"), out.toString());
    }
}
