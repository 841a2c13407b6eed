package ai.convllava.server;

import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasGeometry;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The local server: OpenAI's {@code POST /v1/chat/completions} (JSON or server-sent events) and
 * {@code GET /v1/models}, over one {@link VisionChatSession}.
 *
 * <p>Why the JDK's {@code com.sun.net.httpserver}: two endpoints need routing by path, HTTP/1.1 and
 * chunked responses for SSE, which it has; it ships with every JDK (module jdk.httpserver), so there
 * is no dependency to bundle, patch or audit. What it lacks: HTTP/2 (clients of a local server do
 * not need it), and it tells us a client went away only when a write fails. So a streamed request
 * notices a disconnect at its next write (a queue-position comment while it waits, a token while it
 * runs) and is cancelled; a non-streamed one is noticed only when its answer is written.
 *
 * <p>Extensions to OpenAI's response, under {@code "convllava"}: the request's queue position on
 * arrival, the canvas and token-grid geometry, the timings, and, when the request asks with
 * {@code "convllava": {"image_attention": true}}, the attention over the image tokens for every
 * generated token. A streamed request gets its queue position in a response header
 * ({@code X-Queue-Position}, on arrival) and in SSE comments ({@code : queue-position N}) each time
 * it moves up; a non-streamed one in the header and in {@code convllava.queue_position}.
 */
public final class OpenAiServer implements AutoCloseable {
    /** How each chat request ended, for logs and tests. {@code finishReason} is null when it was refused. */
    public record RequestLog(String id, int status, String finishReason, int promptTokens, int cachedPromptTokens, int completionTokens,
                             boolean clientGone, String error) {
    }

    public interface Listener {
        Listener NONE = log -> {
        };

        void onFinished(RequestLog log);
    }

    static {
        // The JDK server leaves Nagle's algorithm on: a response written as headers then body (and every SSE event
        // after the first) waits for the client's delayed ACK, 40 ms on Linux, measured as a 40-55 ms overhead per
        // request before this. The JDK reads the property once, when its first server starts; a value given on the
        // command line wins.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    /** Threads beyond the queue's: refusals (429, 400, 401) and /v1/models are answered while the queue is full. */
    private static final int SPARE_THREADS = 8;

    private final VisionChatSession session;
    private final ServerOptions options;
    private final Listener listener;
    private final ObjectMapper json = new ObjectMapper();
    private final ChatRequestParser parser;
    private final ModelQueue queue;
    private final Semaphore admitted;
    private final HttpServer http;
    private final ExecutorService threads;
    private final AtomicLong ids = new AtomicLong();
    private final boolean loopback;

    private OpenAiServer(VisionChatSession session, ServerOptions options, Listener listener) throws IOException {
        this.session = session;
        this.options = options;
        this.listener = listener;
        this.parser = new ChatRequestParser(options);
        this.queue = new ModelQueue(session);
        this.admitted = new Semaphore(options.maxQueued() + 1);
        this.loopback = ServerOptions.isLoopback(options.host());
        int n = options.maxQueued() + 1 + SPARE_THREADS;
        AtomicInteger count = new AtomicInteger();
        // fixed: a flood of connections waits in the executor's queue (and then gets its 429) instead of starting a thread each
        this.threads = new ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "convllava-server-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 64);
        http.setExecutor(threads);
        http.createContext("/", this::handle);
    }

    /** Starts listening; the session should have its model loaded (requests get 503 until it has). */
    public static OpenAiServer start(VisionChatSession session, ServerOptions options, Listener listener) throws IOException {
        OpenAiServer s = new OpenAiServer(session, options, listener == null ? Listener.NONE : listener);
        s.http.start();
        return s;
    }

    public int port() {
        return http.getAddress().getPort();
    }

    /** e.g. http://127.0.0.1:8080/v1 */
    public URI baseUri() {
        String host = options.host().contains(":") ? "[" + options.host() + "]" : options.host();
        return URI.create("http://" + host + ":" + port() + "/v1");
    }

    /** The id /v1/models lists and requests name: the model folder's name. */
    public String modelId() {
        return session.model().map(ModelInfo::name).orElse(null);
    }

    /** Stops listening and cancels what is queued or running; the session stays open (its owner closes it). */
    @Override
    public void close() {
        queue.close();
        http.stop(0);
        threads.shutdownNow();
    }

    /**
     * An IOException (the client went away) is thrown on, not swallowed: the JDK server then closes the
     * connection and forgets it. Swallowed, the dead connection stayed in the server's sets (found by the
     * stress test: one HttpConnection and its socket per client that left mid-stream).
     */
    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            try {
                route(ex);
            } catch (ApiException e) {
                sendError(ex, e);
            } catch (RuntimeException | Error e) { // a bug must become a 500, never a dead server thread
                sendError(ex, new ApiException(500, "server_error", null, null, "internal error: " + e));
            }
        }
    }

    /**
     * Reads what is left of a refused request's body (a 413 or 429 is sent before the body is read) before
     * the response is closed: the JDK server then drains only 64 KB and closes the connection, and closing
     * with unread bytes makes the kernel reset it, so the client would lose the error it was sent. Bounded
     * in time and bytes, as a web server's lingering close.
     */
    private static void drain(InputStream in) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        long left = 1L << 30;
        byte[] buf = new byte[1 << 16];
        try {
            for (int r; left > 0 && System.nanoTime() < deadline && (r = in.read(buf)) > 0; ) {
                left -= r;
            }
        } catch (IOException e) {
            // gone: nothing to drain
        }
    }

    private void route(HttpExchange ex) throws IOException {
        checkHost(ex);
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        switch (path) {
            case "/v1/models" -> {
                requireMethod(ex, "GET");
                checkKey(ex);
                sendJson(ex, 200, models());
            }
            case "/v1/chat/completions" -> {
                requireMethod(ex, "POST");
                checkKey(ex);
                chat(ex);
            }
            default -> throw new ApiException(404, "invalid_request_error", null, "not_found",
                    method + " " + path + " is not served here; try POST /v1/chat/completions or GET /v1/models");
        }
    }

    /**
     * Bound to loopback, a request must also name a loopback host: a web page whose own name was made to
     * resolve to 127.0.0.1 (DNS rebinding) would otherwise reach the server as same-origin.
     */
    private void checkHost(HttpExchange ex) {
        if (!loopback) {
            return;
        }
        String host = ex.getRequestHeaders().getFirst("Host");
        if (host == null) {
            return; // HTTP/1.0 without Host: not a browser
        }
        String name = host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1) : host.replaceFirst(":\\d+$", "");
        String n = name.toLowerCase(Locale.ROOT);
        if (!(n.equals("localhost") || n.equals("[::1]") || n.startsWith("127."))) {
            throw new ApiException(403, "invalid_request_error", null, "bad_host",
                    "Host '" + host + "' is not this machine; the server is bound to " + options.host() + " and answers only requests for it");
        }
    }

    private static void requireMethod(HttpExchange ex, String method) {
        if (!ex.getRequestMethod().equals(method)) {
            ex.getResponseHeaders().set("Allow", method);
            // no CORS: OPTIONS (a browser's preflight) is refused like any other method, so no web page can call the server
            throw new ApiException(405, "invalid_request_error", null, "method_not_allowed",
                    ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " is not allowed; use " + method);
        }
    }

    private void checkKey(HttpExchange ex) {
        if (options.apiKey() == null) {
            return;
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        String given = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7) ? auth.substring(7).strip() : null;
        // constant time: the comparison must not tell how much of a guessed key was right
        if (given == null || !MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), options.apiKey().getBytes(StandardCharsets.UTF_8))) {
            throw new ApiException(401, "invalid_request_error", null, "invalid_api_key",
                    given == null ? "this server needs an API key: send the header Authorization: Bearer <key>" : "the API key is not the server's");
        }
    }

    private ObjectNode models() {
        ObjectNode o = json.createObjectNode();
        o.put("object", "list");
        ArrayNode data = o.putArray("data");
        session.model().ifPresent(m -> {
            ObjectNode e = data.addObject();
            e.put("id", m.name());
            e.put("object", "model");
            e.put("created", 0);
            e.put("owned_by", "local");
            ObjectNode x = e.putObject("convllava");
            x.put("canvas", m.canvasSide());
            x.put("context_tokens", m.contextTokens());
            x.put("weights", m.weightFormat() == null ? null : m.weightFormat().name().toLowerCase(Locale.ROOT));
        });
        return o;
    }

    private void chat(HttpExchange ex) throws IOException {
        String id = "chatcmpl-" + ids.incrementAndGet();
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        // only JSON: a web page can POST text/plain or a form without asking (no preflight); JSON needs the CORS we never grant
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            throw new ApiException(415, "invalid_request_error", null, "unsupported_media_type",
                    "the request body must be JSON with Content-Type: application/json (got " + (type == null ? "none" : type) + ")");
        }
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long n;
            try {
                n = Long.parseLong(length.strip());
            } catch (NumberFormatException e) {
                throw ApiException.invalid(null, "Content-Length is not a number (" + length + ")");
            }
            if (n > options.maxBodyBytes()) {
                tooLarge(n);
            }
        }
        if (!admitted.tryAcquire()) {
            ex.getResponseHeaders().set("Retry-After", "1");
            log(new RequestLog(id, 429, null, 0, 0, 0, false, "queue full"));
            throw new ApiException(429, "rate_limit_error", null, "queue_full", "the model is busy: " + queue.size()
                    + " requests are running or queued, the limit is " + (options.maxQueued() + 1) + "; retry later");
        }
        try {
            byte[] body = readBody(ex.getRequestBody());
            JsonNode tree;
            try {
                tree = json.readTree(body);
            } catch (JsonProcessingException e) {
                throw ApiException.invalid(null, "the request body is not valid JSON: " + e.getOriginalMessage()
                        + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() : ""));
            }
            body = null; // the image is decoded now; the base64 text need not wait in the queue
            ParsedChat chat = parser.parse(tree);
            tree = null;
            String served = modelId();
            if (served == null) {
                throw new ApiException(503, "server_error", null, "no_model", "no model is loaded");
            }
            if (chat.model() != null && !chat.model().equals(served)) {
                throw new ApiException(404, "invalid_request_error", "model", "model_not_found",
                        "the model '" + chat.model() + "' is not served here; this server serves '" + served + "' (GET /v1/models)");
            }
            ModelQueue.Job job = queue.submit(chat);
            if (chat.stream()) {
                stream(ex, id, served, chat, job);
            } else {
                complete(ex, id, served, chat, job);
            }
        } catch (ApiException e) {
            log(new RequestLog(id, e.status(), null, 0, 0, 0, false, e.getMessage()));
            throw e;
        } finally {
            admitted.release();
        }
    }

    private void tooLarge(long n) {
        throw new ApiException(413, "invalid_request_error", null, "request_too_large",
                "the request body is " + (n < 0 ? "more than " + options.maxBodyBytes() : n) + " bytes; the limit is " + options.maxBodyBytes()
                        + " bytes (images: at most " + options.maxImagePixels() + " pixels)");
    }

    /** The body, refused with 413 once it passes the limit (a chunked body has no Content-Length to check first). */
    private byte[] readBody(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        long total = 0;
        for (int r; (r = in.read(buf)) > 0; ) {
            total += r;
            if (total > options.maxBodyBytes()) {
                tooLarge(-1);
            }
            out.write(buf, 0, r);
        }
        return out.toByteArray();
    }

    private static <E> E next(ModelQueue.Job job) {
        return next(job, 0);
    }

    /** The job's next event; with a timeout (ms > 0), null when none came in time. */
    private static <E> E next(ModelQueue.Job job, long ms) {
        try {
            @SuppressWarnings("unchecked")
            E e = (E) (ms > 0 ? job.events.poll(ms, TimeUnit.MILLISECONDS) : job.events.take());
            return e;
        } catch (InterruptedException e) {
            job.cancel();
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
        }
    }

    /** Non-streamed: waits for the end, then one JSON object. */
    private void complete(HttpExchange ex, String id, String model, ParsedChat chat, ModelQueue.Job job) throws IOException {
        int arrival = -1;
        while (true) {
            ModelQueue.Event e = next(job);
            if (e instanceof ModelQueue.Position p) {
                if (arrival < 0) {
                    arrival = p.ahead();
                }
            } else if (e instanceof ModelQueue.Failed f) {
                throw failure(f.error());
            } else if (e instanceof ModelQueue.Done d) {
                if (d.result() == null) {
                    throw new ApiException(503, "server_error", null, "cancelled", "the request was cancelled: the server is shutting down");
                }
                ObjectNode o = head(id, "chat.completion", model);
                ObjectNode choice = o.putArray("choices").addObject();
                choice.put("index", 0);
                ObjectNode msg = choice.putObject("message");
                msg.put("role", "assistant");
                msg.put("content", d.text());
                choice.put("finish_reason", d.finishReason());
                choice.putNull("logprobs");
                o.set("usage", usage(d.result()));
                o.set("convllava", extension(arrival, d, chat.imageAttention()));
                ex.getResponseHeaders().set("X-Queue-Position", Integer.toString(arrival));
                try {
                    sendJson(ex, 200, o);
                } catch (IOException io) {
                    logDone(id, d, true);
                    throw io;
                }
                logDone(id, d, false);
                return;
            }
        }
    }

    /** Streamed: headers at once (with the queue position), then SSE events as they come. */
    private void stream(HttpExchange ex, String id, String model, ParsedChat chat, ModelQueue.Job job) throws IOException {
        ModelQueue.Position first = next(job);
        int arrival = first.ahead();
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.getResponseHeaders().set("X-Queue-Position", Integer.toString(arrival));
        OutputStream out = ex.getResponseBody();
        boolean started = false;
        IOException gone;
        try {
            ex.sendResponseHeaders(200, 0);
            write(out, ": queue-position " + arrival + "\n\n");
            while (true) {
                ModelQueue.Event e = next(job, options.heartbeatMillis());
                if (e == null) {
                    write(out, ": keep-alive\n\n"); // nothing for a while: a write is the only way to find out the client left
                } else if (e instanceof ModelQueue.Position p) {
                    write(out, ": queue-position " + p.ahead() + "\n\n");
                    if (p.ahead() == 0 && !started) {
                        started = true;
                        ObjectNode c = chunk(id, model);
                        c.withArray("choices").addObject().put("index", 0).putNull("finish_reason").putObject("delta").put("role", "assistant")
                                .put("content", "");
                        data(out, c);
                    }
                } else if (e instanceof ModelQueue.Text t) {
                    ObjectNode c = chunk(id, model);
                    c.withArray("choices").addObject().put("index", 0).putNull("finish_reason").putObject("delta").put("content", t.delta());
                    data(out, c);
                } else if (e instanceof ModelQueue.Failed f) {
                    ApiException a = failure(f.error());
                    data(out, errorBody(a));
                    write(out, "data: [DONE]\n\n");
                    log(new RequestLog(id, a.status(), null, 0, 0, 0, false, a.getMessage()));
                    return;
                } else if (e instanceof ModelQueue.Done d) {
                    if (d.result() != null) {
                        ObjectNode c = chunk(id, model);
                        ObjectNode choice = c.withArray("choices").addObject();
                        choice.put("index", 0);
                        choice.putObject("delta");
                        choice.put("finish_reason", d.finishReason());
                        c.set("convllava", extension(arrival, d, chat.imageAttention()));
                        data(out, c);
                        if (chat.includeUsage()) {
                            ObjectNode u = chunk(id, model);
                            u.putArray("choices");
                            u.set("usage", usage(d.result()));
                            data(out, u);
                        }
                    } else {
                        data(out, errorBody(new ApiException(503, "server_error", null, "cancelled", "the request was cancelled: the server is shutting down")));
                    }
                    write(out, "data: [DONE]\n\n");
                    logDone(id, d, false);
                    return;
                }
            }
        } catch (IOException io) {
            gone = io;
        }
        // the client went away: stop its generation (or take it out of the queue), then wait for the end to log it
        job.cancel();
        while (true) {
            ModelQueue.Event e = next(job);
            if (e instanceof ModelQueue.Done d) {
                logDone(id, d, true);
                throw gone;
            }
            if (e instanceof ModelQueue.Failed f) {
                log(new RequestLog(id, 500, null, 0, 0, 0, true, f.error().getMessage()));
                throw gone;
            }
        }
    }

    private void logDone(String id, ModelQueue.Done d, boolean gone) {
        GenerationResult r = d.result();
        log(new RequestLog(id, 200, gone ? "cancelled" : d.finishReason(), r == null ? 0 : r.promptTokens(), r == null ? 0 : r.reusedPromptTokens(),
                r == null ? 0 : r.generatedIds().length, gone, null));
    }

    private void log(RequestLog l) {
        try {
            listener.onFinished(l);
        } catch (RuntimeException e) {
            // a listener's bug must not fail the request
        }
    }

    /** What the session threw, as the client should see it. */
    private static ApiException failure(RuntimeException e) {
        if (e instanceof ApiException a) {
            return a;
        }
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        if (m.startsWith("the question is too long")) {
            return new ApiException(400, "invalid_request_error", "messages", "context_length_exceeded", m);
        }
        return new ApiException(500, "server_error", null, null, m);
    }

    private ObjectNode head(String id, String object, String model) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id);
        o.put("object", object);
        o.put("created", System.currentTimeMillis() / 1000);
        o.put("model", model);
        return o;
    }

    private ObjectNode chunk(String id, String model) {
        ObjectNode o = head(id, "chat.completion.chunk", model);
        o.putArray("choices");
        return o;
    }

    private ObjectNode usage(GenerationResult r) {
        ObjectNode u = json.createObjectNode();
        int completion = r.generatedIds().length;
        u.put("prompt_tokens", r.promptTokens());
        u.put("completion_tokens", completion);
        u.put("total_tokens", r.promptTokens() + completion);
        // OpenAI's own field for prompt caching: here, the positions the conversation's KV cache already held
        u.putObject("prompt_tokens_details").put("cached_tokens", r.reusedPromptTokens());
        return u;
    }

    private ObjectNode extension(int arrival, ModelQueue.Done d, boolean attention) {
        ObjectNode x = json.createObjectNode();
        x.put("queue_position", arrival);
        CanvasGeometry g = d.geometry();
        if (g != null) {
            ObjectNode geo = x.putObject("geometry");
            geo.putArray("canvas").add(g.canvasWidth()).add(g.canvasHeight());
            geo.putArray("grid").add(g.gridRows()).add(g.gridCols());
            geo.put("cell_size", g.cellSize());
            geo.putObject("image").put("x", g.imageX()).put("y", g.imageY()).put("width", g.imageWidth()).put("height", g.imageHeight());
            geo.put("image_tokens", g.tokenCount());
        }
        GenerationResult r = d.result();
        Timings t = r.timings();
        ObjectNode tn = x.putObject("timings");
        tn.put("preprocess_ms", t.preprocessMs());
        tn.put("vision_encode_ms", t.visionEncodeMs());
        tn.put("prefill_ms", t.prefillMs());
        tn.put("ttft_ms", t.timeToFirstTokenMs());
        tn.put("decode_ms", t.decodeMs());
        tn.put("decode_tokens_per_s", t.decodeTokensPerSecond());
        // the in-process call's own time: a client's round trip minus this is what the server added (docs/bench/server-overhead.json)
        tn.put("session_ms", d.sessionMs());
        x.put("seed", r.seed());
        if (attention) {
            // entry k: the query that chose generated token k, (layers, image tokens), mean over heads
            ArrayNode steps = x.putArray("image_attention");
            List<float[][]> maps = r.imageAttention();
            for (float[][] step : maps) {
                ArrayNode layers = steps.addArray();
                for (float[] layer : step) {
                    ArrayNode row = layers.addArray();
                    for (float v : layer) {
                        row.add(v);
                    }
                }
            }
        }
        return x;
    }

    private ObjectNode errorBody(ApiException e) {
        ObjectNode o = json.createObjectNode();
        ObjectNode err = o.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type());
        err.put("param", e.param());
        err.put("code", e.code());
        return o;
    }

    private void sendError(HttpExchange ex, ApiException e) throws IOException {
        if (ex.getResponseCode() != -1) {
            return; // the headers went out already (a stream): the error was sent as an event
        }
        sendJson(ex, e.status(), errorBody(e));
    }

    private void sendJson(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] b = json.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(b);
            out.flush();
            drain(ex.getRequestBody());
        }
    }

    private void data(OutputStream out, JsonNode o) throws IOException {
        write(out, "data: " + json.writeValueAsString(o) + "\n\n");
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
