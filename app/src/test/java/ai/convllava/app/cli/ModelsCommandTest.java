package ai.convllava.app.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code convllava models ...} against a minimal Hub on 127.0.0.1 serving the tiny fixture repos. */
class ModelsCommandTest {
    static final Path TINY = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures"), "tiny");
    static final String MODEL = "ConvLLaVA/tiny-convllava";
    static final String TOWER = "ConvLLaVA/tiny-convllava-convnext";

    @TempDir
    Path tmp;
    HttpServer server;
    final Map<String, Map<String, byte[]>> repos = new LinkedHashMap<>();

    record Run(int code, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = ConvLlavaCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @BeforeEach
    void start() throws IOException {
        for (String[] r : new String[][] {{MODEL, "tiny-convllava"}, {TOWER, "tiny-convllava-convnext"}}) {
            Map<String, byte[]> files = new LinkedHashMap<>();
            try (Stream<Path> s = Files.list(TINY.resolve(r[1]))) {
                for (Path p : s.sorted().toList()) {
                    files.put(p.getFileName().toString(), Files.readAllBytes(p));
                }
            }
            repos.put(r[0], files);
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String[] p = ex.getRequestURI().getPath().substring(1).split("/", 5);
            boolean api = p[0].equals("api");
            String repo = api ? p[2] + "/" + p[3] : p[0] + "/" + p[1];
            Map<String, byte[]> files = repos.get(repo);
            if (files == null) {
                ex.getResponseHeaders().add("X-Error-Code", "RepoNotFound");
                ex.sendResponseHeaders(404, -1);
                return;
            }
            byte[] body;
            if (api) {
                ObjectNode root = new ObjectMapper().createObjectNode();
                root.put("sha", sha("SHA-1", repo.getBytes(StandardCharsets.UTF_8)));
                ArrayNode sib = root.putArray("siblings");
                files.forEach((name, data) -> {
                    ObjectNode s = sib.addObject().put("rfilename", name).put("size", data.length);
                    if (name.endsWith(".bin") || name.equals("tokenizer.model")) {
                        s.putObject("lfs").put("sha256", sha("SHA-256", data)).put("size", data.length);
                    }
                });
                body = root.toString().getBytes(StandardCharsets.UTF_8);
            } else {
                body = files.get(p[4]);
            }
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
        }
    }

    static String sha(String alg, byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(alg).digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void listShowsTheThreeSizesWithCostsAndState() throws IOException {
        Path cache = tmp.resolve("hub");
        Run r = run("models", "list", "--cache", cache.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("cache: " + cache), r.out());
        for (String want : new String[] {"768   144", "1024  256", "1536  576", "GB"}) {
            assertTrue(r.out().contains(want), want + " in\n" + r.out());
        }
        Run j = run("models", "list", "--cache", cache.toString(), "--json");
        JsonNode arr = new ObjectMapper().readTree(j.out());
        assertEquals(3, arr.size());
        assertEquals("ConvLLaVA/ConvLLaVA-ConvNeXt-1536", arr.get(2).get("tower_repo").asText());
        assertEquals("not_installed", arr.get(0).get("state").asText());
        assertTrue(arr.get(0).get("download_bytes").asLong() > 10_000_000_000L);
        assertTrue(arr.get(0).path("this_machine").isMissingNode(), "measured only when asked");
    }

    @Test
    void listMeasureEstimatesEachSizeOnThisComputer() throws IOException {
        Path cache = tmp.resolve("hub");
        Run r = run("models", "list", "--cache", cache.toString(), "--measure");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("this computer: ") && r.out().contains("GFLOP/s (measured now)"), r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("1536  first answer ~") && l.endsWith("tokens/s")), r.out());
        Run j = run("models", "list", "--cache", cache.toString(), "--json", "--measure");
        JsonNode here = new ObjectMapper().readTree(j.out()).get(2).get("this_machine");
        assertTrue(here.get("read_bandwidth_gbs").asDouble() > 0 && here.get("gemm_gflops").asDouble() > 0, here.toString());
        double first768 = new ObjectMapper().readTree(j.out()).get(0).get("this_machine").get("first_answer_s_estimate").asDouble();
        assertTrue(here.get("first_answer_s_estimate").asDouble() > first768, "1536 takes longer than 768: " + here);
        assertTrue(here.get("decode_tokens_per_s_estimate").asDouble() > 0, here.toString());
    }

    @Test
    void downloadVerifyPathRemoveRoundTrip() throws IOException {
        Path cache = tmp.resolve("hub");
        String[] common = {"--cache", cache.toString(), "--endpoint", endpoint(), "--repo", MODEL, "--tower-repo", TOWER};
        Run d = run(concat(new String[] {"models", "download"}, common));
        assertEquals(0, d.code(), d.err());
        Path snap = Path.of(d.out().strip());
        assertTrue(Files.isRegularFile(snap.resolve("config.json")), d.out());
        assertTrue(snap.startsWith(cache.resolve("models--ConvLLaVA--tiny-convllava/snapshots")), snap.toString());
        assertTrue(d.err().contains("done: 5.1 MB downloaded"), d.err());
        assertTrue(d.err().contains("100.0%"), d.err());

        Run again = run(concat(new String[] {"models", "download"}, common));
        assertEquals(0, again.code(), again.err());
        assertTrue(again.err().contains("done: 0 B downloaded, 5.1 MB already there"), again.err());

        Run p = run(concat(new String[] {"models", "path"}, common));
        assertEquals(snap.toString(), p.out().strip());
        Run pt = run(concat(new String[] {"models", "path", "--tower"}, common));
        assertTrue(pt.out().strip().contains("models--ConvLLaVA--tiny-convllava-convnext"), pt.out());

        Run v = run(concat(new String[] {"models", "verify"}, common));
        assertEquals(0, v.code(), v.out() + v.err());
        assertTrue(v.out().contains("ok: 11 files"), v.out());

        Run rm = run(concat(new String[] {"models", "remove"}, common));
        assertEquals(0, rm.code(), rm.err());
        assertTrue(rm.out().contains("freed 5.1 MB"), rm.out());
        assertFalse(Files.exists(cache.resolve("models--ConvLLaVA--tiny-convllava")));
        Run gone = run(concat(new String[] {"models", "path"}, common));
        assertEquals(1, gone.code());
        assertTrue(gone.err().contains("is not installed"), gone.err());
    }

    @Test
    void errorsAreOneClearLine() {
        Path cache = tmp.resolve("hub");
        Run nf = run("models", "download", "--cache", cache.toString(), "--endpoint", endpoint(), "--repo", "ConvLLaVA/nope");
        assertEquals(1, nf.code());
        assertTrue(nf.err().contains("error: repository ConvLLaVA/nope was not found"), nf.err());
        Run size = run("models", "download", "512", "--cache", cache.toString());
        assertEquals(1, size.code());
        assertEquals("error: unknown model size 512: choose 768, 1024 or 1536", size.err().strip());
        Run insecure = run("models", "download", "768", "--cache", cache.toString(), "--endpoint", "http://mirror.example.com");
        assertEquals(1, insecure.code());
        assertTrue(insecure.err().contains("only HTTPS"), insecure.err());
        Run none = run("models", "verify", "768", "--cache", cache.toString());
        assertEquals(1, none.code());
        assertTrue(none.out().contains("missing") && none.err().contains("models download 768"), none.out() + none.err());
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
