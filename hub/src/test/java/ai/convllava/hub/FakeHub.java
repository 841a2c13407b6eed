package ai.convllava.hub;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A Hugging Face Hub on 127.0.0.1 for tests: {@code /api/models/{repo}/revision/{rev}?blobs=true}
 * and {@code /{repo}/resolve/{rev}/{file}} (with Range), serving folders as repos; .bin,
 * .safetensors and tokenizer.model are LFS files. Faults are switched on per test.
 */
final class FakeHub implements AutoCloseable {
    record Request(String path, String range, String authorization, String host) {
    }

    static final class Repo {
        final String id;
        final String commit;
        final Map<String, byte[]> files = new LinkedHashMap<>();
        final Map<String, Boolean> lfs = new LinkedHashMap<>();

        Repo(String id) {
            this.id = id;
            this.commit = hex(sha("SHA-1", ("commit " + id).getBytes(StandardCharsets.UTF_8)));
        }

        void put(String name, byte[] data, boolean isLfs) {
            files.put(name, data);
            lfs.put(name, isLfs);
        }
    }

    final HttpServer server;
    final Map<String, Repo> repos = new ConcurrentHashMap<>();
    final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    final Map<String, AtomicInteger> fileHits = new ConcurrentHashMap<>();
    // faults
    final Map<String, long[]> dropAfter = new ConcurrentHashMap<>();      // file -> {bytes, times left}
    final Map<String, long[]> stallAfter = new ConcurrentHashMap<>();     // file -> {bytes, times left}: stop sending, keep the socket
    final Map<String, AtomicInteger> corrupt = new ConcurrentHashMap<>(); // file -> times left
    final Map<String, Integer> repoStatus = new ConcurrentHashMap<>();    // repo -> status
    final Map<String, String> repoErrorCode = new ConcurrentHashMap<>();
    final Map<String, String> redirect = new ConcurrentHashMap<>();       // file -> Location
    final AtomicInteger rateLimited = new AtomicInteger();                // next N API/file requests get 429
    final AtomicInteger serverErrors = new AtomicInteger();               // next N requests get 503
    volatile int retryAfterSeconds = 1;
    volatile String requiredToken;
    volatile URI lfsCdn;                                                   // LFS resolves redirect to {cdn}/cdn/{sha256}
    volatile boolean ignoreRange;
    volatile long throttleBytesPerSecond;
    /** Requests answered after waiting {@link #headerDelayMillis}. */
    final AtomicInteger delayedAnswers = new AtomicInteger();
    volatile long headerDelayMillis;                                       // answer every request this late                                  // 0 = full speed

    FakeHub() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "fake-hub");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/", this::handle);
        server.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** The same server under the name localhost: another origin for the client (a "CDN"). */
    URI otherOrigin() {
        return URI.create("http://localhost:" + server.getAddress().getPort());
    }

    Repo addFolder(String repoId, Path dir) throws IOException {
        Repo r = new Repo(repoId);
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                r.put(n, Files.readAllBytes(p), n.endsWith(".bin") || n.endsWith(".safetensors") || n.equals("tokenizer.model"));
            }
        }
        repos.put(repoId, r);
        return r;
    }

    long hits(String file) {
        AtomicInteger a = fileHits.get(file);
        return a == null ? 0 : a.get();
    }

    List<Request> fileRequests(String file) {
        synchronized (requests) {
            return requests.stream().filter(q -> q.path.contains("/resolve/") && q.path.endsWith("/" + file)).toList();
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            requests.add(new Request(URLDecoder.decode(path, StandardCharsets.UTF_8), ex.getRequestHeaders().getFirst("Range"),
                    ex.getRequestHeaders().getFirst("Authorization"), ex.getRequestHeaders().getFirst("Host")));
            if (headerDelayMillis > 0) {
                try {
                    Thread.sleep(headerDelayMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                delayedAnswers.incrementAndGet();
            }
            if (path.startsWith("/cdn/")) {
                serveCdn(ex, path.substring(5));
                return;
            }
            if (serverErrors.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                send(ex, 503, "busy");
                return;
            }
            if (rateLimited.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                ex.getResponseHeaders().add("Retry-After", String.valueOf(retryAfterSeconds));
                send(ex, 429, "slow down");
                return;
            }
            if (requiredToken != null && !("Bearer " + requiredToken).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                send(ex, 401, "unauthorized");
                return;
            }
            String[] parts = path.substring(1).split("/");
            if (parts.length >= 6 && parts[0].equals("api") && parts[1].equals("models") && parts[4].equals("revision")) {
                modelInfo(ex, parts[2] + "/" + parts[3], URLDecoder.decode(parts[5], StandardCharsets.UTF_8));
            } else if (parts.length >= 5 && parts[2].equals("resolve")) {
                StringBuilder file = new StringBuilder();
                for (int i = 4; i < parts.length; i++) {
                    file.append(i > 4 ? "/" : "").append(URLDecoder.decode(parts[i], StandardCharsets.UTF_8));
                }
                resolve(ex, parts[0] + "/" + parts[1], parts[3], file.toString());
            } else {
                send(ex, 404, "no route");
            }
        } catch (IOException e) {
            // the client went away, or we dropped the connection on purpose
        }
    }

    private Repo repoOr404(HttpExchange ex, String id, String rev) throws IOException {
        Integer st = repoStatus.get(id);
        if (st != null) {
            String code = repoErrorCode.get(id);
            if (code != null) {
                ex.getResponseHeaders().add("X-Error-Code", code);
            }
            send(ex, st, "error");
            return null;
        }
        Repo r = repos.get(id);
        if (r == null) {
            ex.getResponseHeaders().add("X-Error-Code", "RepoNotFound");
            send(ex, 404, "Repository not found");
            return null;
        }
        if (!rev.equals("main") && !rev.equals(r.commit)) {
            ex.getResponseHeaders().add("X-Error-Code", "RevisionNotFound");
            send(ex, 404, "Revision not found");
            return null;
        }
        return r;
    }

    private void modelInfo(HttpExchange ex, String id, String rev) throws IOException {
        Repo r = repoOr404(ex, id, rev);
        if (r == null) {
            return;
        }
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("id", id);
        root.put("sha", r.commit);
        ArrayNode sib = root.putArray("siblings");
        for (Map.Entry<String, byte[]> e : r.files.entrySet()) {
            ObjectNode s = sib.addObject();
            s.put("rfilename", e.getKey());
            s.put("size", e.getValue().length);
            if (r.lfs.get(e.getKey())) {
                s.put("blobId", hex(sha("SHA-1", ("pointer " + e.getKey()).getBytes(StandardCharsets.UTF_8))));
                ObjectNode l = s.putObject("lfs");
                l.put("sha256", hex(sha("SHA-256", e.getValue())));
                l.put("size", e.getValue().length);
                l.put("pointerSize", 134);
            } else {
                s.put("blobId", gitBlobId(e.getValue()));
            }
        }
        byte[] body = om.writeValueAsBytes(root);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
    }

    private void resolve(HttpExchange ex, String id, String rev, String file) throws IOException {
        Repo r = repoOr404(ex, id, rev);
        if (r == null) {
            return;
        }
        String loc = redirect.get(file);
        if (loc != null) {
            ex.getResponseHeaders().add("Location", loc);
            send(ex, 302, "");
            return;
        }
        byte[] data = r.files.get(file);
        if (data == null) {
            ex.getResponseHeaders().add("X-Error-Code", "EntryNotFound");
            send(ex, 404, "Entry not found");
            return;
        }
        boolean isLfs = r.lfs.get(file);
        String sha = isLfs ? hex(sha("SHA-256", data)) : gitBlobId(data);
        ex.getResponseHeaders().add("X-Repo-Commit", r.commit);
        if (isLfs) {
            ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
            ex.getResponseHeaders().add("X-Linked-Size", String.valueOf(data.length));
            if (lfsCdn != null) {
                ex.getResponseHeaders().add("Location", lfsCdn + "/cdn/" + sha + "?X-Amz-Signature=secret");
                send(ex, 302, "");
                return;
            }
        }
        serveBytes(ex, file, data, sha);
    }

    private void serveCdn(HttpExchange ex, String sha) throws IOException {
        for (Repo r : repos.values()) {
            for (Map.Entry<String, byte[]> e : r.files.entrySet()) {
                if (r.lfs.get(e.getKey()) && hex(sha("SHA-256", e.getValue())).equals(sha)) {
                    serveBytes(ex, e.getKey(), e.getValue(), sha);
                    return;
                }
            }
        }
        send(ex, 404, "no such object");
    }

    private void serveBytes(HttpExchange ex, String file, byte[] data, String etag) throws IOException {
        fileHits.computeIfAbsent(file, k -> new AtomicInteger()).incrementAndGet();
        long start = 0;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null && !ignoreRange && range.startsWith("bytes=") && range.endsWith("-")) {
            start = Long.parseLong(range.substring(6, range.length() - 1));
            if (start >= data.length) {
                ex.getResponseHeaders().add("Content-Range", "bytes */" + data.length);
                send(ex, 416, "");
                return;
            }
        }
        byte[] out = data.clone();
        AtomicInteger c = corrupt.get(file);
        if (c != null && c.getAndDecrement() > 0) {
            out[out.length / 2] ^= 0x5a;
        }
        ex.getResponseHeaders().add("ETag", "\"" + etag + "\"");
        ex.getResponseHeaders().add("Accept-Ranges", "bytes");
        long len = data.length - start;
        if (start > 0) {
            ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (data.length - 1) + "/" + data.length);
            ex.sendResponseHeaders(206, len);
        } else {
            ex.sendResponseHeaders(200, len);
        }
        long limit = len;
        long[] drop = dropAfter.get(file);
        if (drop != null) {
            synchronized (drop) {
                if (drop[1] > 0) {
                    drop[1]--;
                    limit = Math.min(len, drop[0]);
                }
            }
        }
        long[] stall = stallAfter.get(file);
        boolean stallNow = false;
        if (stall != null) {
            synchronized (stall) {
                if (stall[1] > 0) {
                    stall[1]--;
                    limit = Math.min(len, stall[0]);
                    stallNow = true;
                }
            }
        }
        OutputStream os = ex.getResponseBody();
        int chunk = 16 << 10;
        for (long off = 0; off < limit; off += chunk) {
            int n = (int) Math.min(chunk, limit - off);
            os.write(out, (int) (start + off), n);
            if (throttleBytesPerSecond > 0) {
                os.flush();
                try {
                    Thread.sleep(Math.max(1, n * 1000L / throttleBytesPerSecond));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        os.flush();
        if (stallNow) {
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // if limit < len the exchange closes with bytes missing: the connection is dropped
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            ex.getResponseBody().write(b);
        }
    }

    static String gitBlobId(byte[] data) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            md.update(("blob " + data.length + "\0").getBytes(StandardCharsets.US_ASCII));
            return hex(md.digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] sha(String alg, byte[] data) {
        try {
            return MessageDigest.getInstance(alg).digest(data);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
