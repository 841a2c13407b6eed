package ai.convllava.server;

import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.VisionChatSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** The tiny fixture model in a session, a server over it, and a JDK HttpClient to talk to it. */
final class ServerFixture implements AutoCloseable {
    static final Path TINY = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures"), "tiny");
    static final Path WIDE = TINY.resolve("images/wide.png");
    static final String QUESTION = "What is the tallest bar in this chart?";
    static final ObjectMapper JSON = new ObjectMapper();

    final VisionChatSession session;
    final OpenAiServer server;
    final HttpClient client = HttpClient.newHttpClient();
    /** Every chat request's end, as the server logs it: tests wait on this instead of sleeping. */
    final BlockingQueue<OpenAiServer.RequestLog> finished = new LinkedBlockingQueue<>();

    ServerFixture(ServerOptions options) throws IOException {
        session = VisionChatSession.local();
        session.loadModel(LoadOptions.of(TINY.resolve("tiny-convllava")), ProgressListener.NONE).join();
        server = OpenAiServer.start(session, options, finished::add);
    }

    static ServerFixture start() throws IOException {
        return new ServerFixture(ServerOptions.defaults().withPort(0));
    }

    static JsonNode golden() throws IOException {
        return JSON.readTree(TINY.resolve("golden.json").toFile());
    }

    static String dataUrl(Path png) {
        try {
            return "data:image/png;base64," + Base64.getEncoder().encodeToString(Files.readAllBytes(png));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A one-question request about wide.png, greedy, 16 tokens. */
    static String simpleRequest(boolean stream) {
        return """
                {"model": "tiny-convllava", "max_tokens": 16, "temperature": 0, "stream": %s,
                 "messages": [{"role": "user", "content": [{"type": "text", "text": "%s"},
                                {"type": "image_url", "image_url": {"url": "%s"}}]}]}
                """.formatted(stream, QUESTION, dataUrl(WIDE));
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    HttpRequest.Builder post(String body) {
        return HttpRequest.newBuilder(uri("/v1/chat/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    }

    HttpResponse<String> send(HttpRequest r) {
        try {
            return client.send(r, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> chat(String body) {
        return send(post(body).build());
    }

    static JsonNode parse(String s) {
        try {
            return JSON.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        server.close();
        session.close();
    }
}
