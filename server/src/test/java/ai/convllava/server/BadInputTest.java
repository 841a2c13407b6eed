package ai.convllava.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

import static ai.convllava.server.ServerFixture.QUESTION;
import static ai.convllava.server.ServerFixture.WIDE;
import static ai.convllava.server.ServerFixture.dataUrl;
import static ai.convllava.server.ServerFixture.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every bad request gets its HTTP status and an OpenAI error object naming the field and the numbers;
 * after each one the server still answers a good request (checked after every test).
 */
class BadInputTest {
    static ServerFixture f;

    @BeforeAll
    static void start() throws IOException {
        f = ServerFixture.start();
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    @AfterEach
    void stillServing() {
        HttpResponse<String> r = f.chat(ServerFixture.simpleRequest(false).replace("\"max_tokens\": 16", "\"max_tokens\": 2"));
        assertEquals(200, r.statusCode(), r.body());
    }

    /** The error object of a response with this status; returns its message. */
    static JsonNode error(HttpResponse<String> r, int status) {
        assertEquals(status, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode e = parse(r.body()).get("error");
        assertTrue(e != null && e.get("message").isTextual() && e.get("type").isTextual(), r.body());
        return e;
    }

    static String withImage(String url) {
        return """
                {"model": "tiny-convllava", "max_tokens": 2, "messages": [{"role": "user", "content": [
                  {"type": "text", "text": "%s"}, {"type": "image_url", "image_url": {"url": "%s"}}]}]}
                """.formatted(QUESTION, url);
    }

    @Test
    void malformedJsonIs400WithWhere() {
        JsonNode e = error(f.chat("{\"model\": \"tiny-convllava\", \"messages\": [}"), 400);
        assertEquals("invalid_request_error", e.get("type").asText());
        assertTrue(e.get("message").asText().contains("not valid JSON") && e.get("message").asText().contains("line 1"), e.toString());
    }

    @Test
    void deeplyNestedJsonIs400() {
        JsonNode e = error(f.chat("[".repeat(100_000)), 400);
        assertTrue(e.get("message").asText().contains("not valid JSON"), e.toString());
    }

    @Test
    void unknownFieldsAreNamed() {
        String body = ServerFixture.simpleRequest(false).replaceFirst("\\{", "{\"tools\": [], ");
        JsonNode e = error(f.chat(body), 400);
        assertEquals("tools", e.get("param").asText());
        e = error(f.chat(withImage(dataUrl(WIDE)).replace("\"type\": \"text\",", "\"type\": \"text\", \"colour\": 1,")), 400);
        assertEquals("messages[0].content[0].colour", e.get("param").asText());
    }

    @Test
    void anImageThatIsNotAnImageNamesThePart() {
        String notPng = "data:image/png;base64," + Base64.getEncoder().encodeToString("hello, not a picture".getBytes(StandardCharsets.UTF_8));
        JsonNode e = error(f.chat(withImage(notPng)), 400);
        assertEquals("messages[0].content[1].image_url.url", e.get("param").asText());
        e = error(f.chat(withImage("data:image/png;base64,@@@")), 400);
        assertTrue(e.get("message").asText().contains("not valid base64"), e.toString());
        e = error(f.chat(withImage("data:application/pdf;base64,JVBERi0=")), 400);
        assertTrue(e.get("message").asText().contains("application/pdf"), e.toString());
        e = error(f.chat(withImage("https://example.com/cat.png")), 400);
        assertTrue(e.get("message").asText().contains("fetches nothing from the network"), e.toString());
    }

    @Test
    void aSecondImageAndNoImageAreRefused() {
        String two = withImage(dataUrl(WIDE)).replace("]}]}", "]}, {\"role\": \"assistant\", \"content\": \"x\"}, {\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \""
                + dataUrl(WIDE.resolveSibling("tall.png")) + "\"}}]}]}");
        JsonNode e = error(f.chat(two), 400);
        assertEquals("messages[2].content[0].image_url.url", e.get("param").asText());
        e = error(f.chat("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"), 400);
        assertTrue(e.get("message").asText().contains("no user message has an image_url part"), e.toString());
    }

    @Test
    void aMillionMaxTokensNamesTheLimit() {
        JsonNode e = error(f.chat(ServerFixture.simpleRequest(false).replace("\"max_tokens\": 16", "\"max_tokens\": 1000000")), 400);
        assertEquals("max_tokens", e.get("param").asText());
        assertTrue(e.get("message").asText().contains("[1, 4096] (got 1000000)"), e.toString());
        e = error(f.chat(ServerFixture.simpleRequest(false).replace("\"max_tokens\": 16", "\"max_tokens\": 16, \"max_completion_tokens\": 8")), 400);
        assertEquals("max_completion_tokens", e.get("param").asText());
    }

    @Test
    void aPromptLongerThanTheContextIs400ContextLengthExceeded() {
        // ~3 tokens per repetition, well over the tiny model's 4096-token context, well under the 1 MB text limit
        String body = ServerFixture.simpleRequest(false).replace(QUESTION, "how tall is the bar? ".repeat(2000));
        JsonNode e = error(f.chat(body), 400);
        assertEquals("context_length_exceeded", e.get("code").asText());
        assertTrue(e.get("message").asText().contains("the model's context is 4096 tokens"), e.toString());
    }

    @Test
    void outOfRangeSamplingIsNamed() {
        JsonNode e = error(f.chat(ServerFixture.simpleRequest(false).replace("\"temperature\": 0", "\"temperature\": 3.5")), 400);
        assertTrue(e.get("message").asText().contains("temperature must be in [0.0, 2.0] (got 3.5)"), e.toString());
        e = error(f.chat(ServerFixture.simpleRequest(false).replace("\"temperature\": 0", "\"temperature\": 0, \"n\": 3")), 400);
        assertEquals("n", e.get("param").asText());
        e = error(f.chat(ServerFixture.simpleRequest(false).replace("\"temperature\": 0", "\"temperature\": 0, \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]")), 400);
        assertTrue(e.get("message").asText().contains("at most 4 strings (got 5)"), e.toString());
    }

    /** 200 MB with a Content-Length: refused from the header, before a byte of it is read. */
    @Test
    void a200MegabyteBodyIs413() {
        long size = 200L << 20;
        HttpRequest r = HttpRequest.newBuilder(f.uri("/v1/chat/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> zeros(size)), size)).build();
        HttpResponse<String> resp = sendTolerant(r);
        JsonNode e = error(resp, 413);
        assertTrue(e.get("message").asText().contains("209715200 bytes; the limit is 33554432"), e.toString());
    }

    /** 200 MB chunked (no Content-Length): refused once the limit is passed while reading. */
    @Test
    void a200MegabyteChunkedBodyIs413() {
        HttpRequest r = HttpRequest.newBuilder(f.uri("/v1/chat/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> zeros(200L << 20))).build();
        JsonNode e = error(sendTolerant(r), 413);
        assertTrue(e.get("message").asText().contains("more than 33554432 bytes"), e.toString());
    }

    private static HttpResponse<String> sendTolerant(HttpRequest r) {
        return f.send(r);
    }

    private static InputStream zeros(long n) {
        return new InputStream() {
            long left = n;

            @Override
            public int read() {
                return left-- > 0 ? ' ' : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left <= 0) {
                    return -1;
                }
                int k = (int) Math.min(len, left);
                java.util.Arrays.fill(b, off, off + k, (byte) ' ');
                left -= k;
                return k;
            }
        };
    }

    @Test
    void notJsonWrongMethodWrongPathWrongModel() {
        JsonNode e = error(f.send(HttpRequest.newBuilder(f.uri("/v1/chat/completions")).header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(ServerFixture.simpleRequest(false))).build()), 415);
        assertTrue(e.get("message").asText().contains("text/plain"), e.toString());
        error(f.send(HttpRequest.newBuilder(f.uri("/v1/chat/completions")).GET().build()), 405);
        HttpResponse<String> preflight = f.send(HttpRequest.newBuilder(f.uri("/v1/chat/completions")).method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", "https://evil.example").header("Access-Control-Request-Method", "POST").build());
        error(preflight, 405);
        assertTrue(preflight.headers().firstValue("Access-Control-Allow-Origin").isEmpty(), "CORS is off");
        error(f.send(HttpRequest.newBuilder(f.uri("/v1/embeddings")).GET().build()), 404);
        e = error(f.chat(ServerFixture.simpleRequest(false).replace("\"model\": \"tiny-convllava\"", "\"model\": \"gpt-4o\"")), 404);
        assertEquals("model_not_found", e.get("code").asText());
    }

    @Test
    void fileUrlsAreOffByDefault() throws IOException {
        JsonNode e = error(f.chat(withImage(WIDE.toUri().toString())), 400);
        assertTrue(e.get("message").asText().contains("--allow-files"), e.toString());
    }

    @Test
    void fileUrlsAreReadOnlyInsideTheAllowedFolder(@TempDir Path tmp) throws IOException {
        Path allowed = Files.createDirectories(tmp.resolve("allowed"));
        Files.copy(WIDE, allowed.resolve("wide.png"));
        Path outside = Files.copy(WIDE, tmp.resolve("secret.png"));
        Files.createSymbolicLink(allowed.resolve("link.png"), outside);
        try (ServerFixture g = new ServerFixture(ServerOptions.defaults().withPort(0).withAllowedFolder(allowed))) {
            assertEquals(200, g.chat(withImage(allowed.resolve("wide.png").toUri().toString())).statusCode());
            for (String url : new String[] {outside.toUri().toString(), allowed.resolve("link.png").toUri().toString(),
                    "file://" + allowed + "/../secret.png", "file:///etc/passwd", allowed.resolve("missing.png").toUri().toString()}) {
                JsonNode e = error(g.chat(withImage(url)), 403);
                assertEquals("file_not_allowed", e.get("code").asText(), url);
            }
        }
    }

    @Test
    void anApiKeyIsCheckedWhenSet() throws IOException {
        try (ServerFixture g = new ServerFixture(ServerOptions.defaults().withPort(0).withApiKey("s3cret"))) {
            JsonNode e = error(g.chat(ServerFixture.simpleRequest(false)), 401);
            assertEquals("invalid_api_key", e.get("code").asText());
            error(g.send(g.post(ServerFixture.simpleRequest(false)).header("Authorization", "Bearer wrong").build()), 401);
            error(g.send(HttpRequest.newBuilder(g.uri("/v1/models")).GET().build()), 401);
            HttpResponse<String> ok = g.send(g.post(ServerFixture.simpleRequest(false).replace("\"max_tokens\": 16", "\"max_tokens\": 2"))
                    .header("Authorization", "Bearer s3cret").build());
            assertEquals(200, ok.statusCode(), ok.body());
        }
    }

    @Test
    void anotherAddressWithoutAKeyIsRefused() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ServerOptions.defaults().withHost("0.0.0.0"));
        assertTrue(e.getMessage().contains("give an API key"), e.getMessage());
        assertEquals("0.0.0.0", ServerOptions.defaults().withApiKey("k").withHost("0.0.0.0").host());
    }

    @Test
    void aForeignHostHeaderIsRefused() {
        // DNS rebinding: a page at http://evil.example:PORT whose name resolves to 127.0.0.1
        HttpRequest r = f.post(ServerFixture.simpleRequest(false)).build();
        // the JDK client does not let Host be set, so this goes through a raw socket
        String body = ServerFixture.simpleRequest(false);
        String raw = "POST /v1/chat/completions HTTP/1.1\r\nHost: evil.example:" + f.server.port() + "\r\nContent-Type: application/json\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\nConnection: close\r\n\r\n" + body;
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", f.server.port())) {
            s.getOutputStream().write(raw.getBytes(StandardCharsets.UTF_8));
            String resp = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(resp.startsWith("HTTP/1.1 403"), resp);
            assertTrue(resp.contains("bad_host"), resp);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertEquals("POST", r.method());
    }
}
