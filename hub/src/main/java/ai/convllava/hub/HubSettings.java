package ai.convllava.hub;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * Where to download from and to, and how hard to try.
 *
 * @param endpoint       the Hub or a mirror ({@code HF_ENDPOINT}); HTTPS, or HTTP on a loopback address
 * @param token          a Hugging Face token ({@code HF_TOKEN}) or null; never logged, never in messages
 * @param cacheDir       the hub cache folder holding {@code models--Org--Name} ({@code $HF_HUB_CACHE},
 *                       {@code $HF_HOME/hub} or {@code ~/.cache/huggingface/hub})
 * @param parallelFiles  files downloaded at once (1..8)
 * @param maxRetries     retries of one request after a transient failure (429, 5xx, dropped connection)
 * @param backoff        first retry delay, doubled each time (with jitter) up to {@code maxBackoff}
 * @param maxRetryAfter  the longest Retry-After we wait for; a longer one fails with RATE_LIMITED
 * @param readTimeout    a transfer that receives nothing for this long is dropped (and resumed by a retry)
 */
public record HubSettings(URI endpoint, String token, Path cacheDir, int parallelFiles, int maxRetries, Duration backoff,
                          Duration maxBackoff, Duration maxRetryAfter, Duration connectTimeout, Duration readTimeout,
                          LinkMode linkMode, FreeSpaceProbe freeSpace) {
    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");

    public HubSettings {
        if (endpoint == null) {
            endpoint = DEFAULT_ENDPOINT;
        }
        String s = endpoint.toString();
        if (s.endsWith("/")) {
            endpoint = URI.create(s.substring(0, s.length() - 1));
        }
        checkAllowed(endpoint, "endpoint (HF_ENDPOINT)");
        if (token != null && token.isBlank()) {
            token = null;
        }
        if (token != null && !token.matches("[\\x21-\\x7e]+")) {
            throw new IllegalArgumentException("the Hugging Face token contains spaces or non-ASCII characters: copy it again from the website");
        }
        if (cacheDir == null) {
            throw new IllegalArgumentException("a cache folder is required");
        }
        if (parallelFiles < 1 || parallelFiles > 8) {
            throw new IllegalArgumentException("parallel files must be in [1, 8] (got " + parallelFiles + ")");
        }
        if (maxRetries < 0 || maxRetries > 20) {
            throw new IllegalArgumentException("retries must be in [0, 20] (got " + maxRetries + ")");
        }
        backoff = backoff == null ? Duration.ofSeconds(1) : backoff;
        maxBackoff = maxBackoff == null ? Duration.ofSeconds(30) : maxBackoff;
        maxRetryAfter = maxRetryAfter == null ? Duration.ofMinutes(5) : maxRetryAfter;
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(15) : connectTimeout;
        readTimeout = readTimeout == null ? Duration.ofSeconds(60) : readTimeout;
        linkMode = linkMode == null ? LinkMode.AUTO : linkMode;
        freeSpace = freeSpace == null ? FreeSpaceProbe.FILE_STORE : freeSpace;
    }

    /** Settings from the environment, as huggingface_hub reads it; {@code userHome} is the fallback for the cache and token file. */
    public static HubSettings fromEnvironment(Map<String, String> env, Path userHome) {
        String ep = env.get("HF_ENDPOINT");
        URI endpoint;
        try {
            endpoint = ep == null || ep.isBlank() ? DEFAULT_ENDPOINT : URI.create(ep.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("HF_ENDPOINT is not a URL: " + ep);
        }
        return new HubSettings(endpoint, token(env, userHome), defaultCache(env, userHome), 3, 5, null, null, null, null, null, null, null);
    }

    /** {@code $HF_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code $XDG_CACHE_HOME/huggingface/hub}, else {@code ~/.cache/huggingface/hub}. */
    public static Path defaultCache(Map<String, String> env, Path userHome) {
        if (present(env.get("HF_HUB_CACHE"))) {
            return Path.of(env.get("HF_HUB_CACHE"));
        }
        return hfHome(env, userHome).resolve("hub");
    }

    private static Path hfHome(Map<String, String> env, Path userHome) {
        if (present(env.get("HF_HOME"))) {
            return Path.of(env.get("HF_HOME"));
        }
        if (present(env.get("XDG_CACHE_HOME"))) {
            return Path.of(env.get("XDG_CACHE_HOME"), "huggingface");
        }
        return userHome.resolve(".cache").resolve("huggingface");
    }

    /** {@code HF_TOKEN}, else the legacy {@code HUGGING_FACE_HUB_TOKEN}, else the file {@code huggingface-cli login} writes. */
    static String token(Map<String, String> env, Path userHome) {
        for (String k : new String[] {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"}) {
            if (present(env.get(k))) {
                return env.get(k).trim();
            }
        }
        Path file = present(env.get("HF_TOKEN_PATH")) ? Path.of(env.get("HF_TOKEN_PATH")) : hfHome(env, userHome).resolve("token");
        try {
            if (Files.isRegularFile(file)) {
                String t = Files.readString(file).trim();
                return t.isEmpty() ? null : t;
            }
        } catch (IOException ignored) {
            // an unreadable token file is the same as none
        }
        return null;
    }

    private static boolean present(String s) {
        return s != null && !s.isBlank();
    }

    /** For tests and embedding: a loopback or HTTPS endpoint, a cache folder, defaults elsewhere. */
    public static HubSettings of(URI endpoint, Path cacheDir) {
        return new HubSettings(endpoint, null, cacheDir, 3, 5, null, null, null, null, null, null, null);
    }

    public HubSettings withToken(String t) {
        return new HubSettings(endpoint, t, cacheDir, parallelFiles, maxRetries, backoff, maxBackoff, maxRetryAfter, connectTimeout,
                readTimeout, linkMode, freeSpace);
    }

    public HubSettings withEndpoint(URI e) {
        return new HubSettings(e, token, cacheDir, parallelFiles, maxRetries, backoff, maxBackoff, maxRetryAfter, connectTimeout,
                readTimeout, linkMode, freeSpace);
    }

    public HubSettings withCacheDir(Path c) {
        return new HubSettings(endpoint, token, c, parallelFiles, maxRetries, backoff, maxBackoff, maxRetryAfter, connectTimeout,
                readTimeout, linkMode, freeSpace);
    }

    public HubSettings withParallelFiles(int n) {
        return new HubSettings(endpoint, token, cacheDir, n, maxRetries, backoff, maxBackoff, maxRetryAfter, connectTimeout,
                readTimeout, linkMode, freeSpace);
    }

    public HubSettings withRetries(int retries, Duration first, Duration max) {
        return new HubSettings(endpoint, token, cacheDir, parallelFiles, retries, first, max, maxRetryAfter, connectTimeout,
                readTimeout, linkMode, freeSpace);
    }

    public HubSettings withMaxRetryAfter(Duration d) {
        return new HubSettings(endpoint, token, cacheDir, parallelFiles, maxRetries, backoff, maxBackoff, d, connectTimeout,
                readTimeout, linkMode, freeSpace);
    }

    public HubSettings withTimeouts(Duration connect, Duration read) {
        return new HubSettings(endpoint, token, cacheDir, parallelFiles, maxRetries, backoff, maxBackoff, maxRetryAfter, connect,
                read, linkMode, freeSpace);
    }

    public HubSettings withLinkMode(LinkMode m) {
        return new HubSettings(endpoint, token, cacheDir, parallelFiles, maxRetries, backoff, maxBackoff, maxRetryAfter, connectTimeout,
                readTimeout, m, freeSpace);
    }

    public HubSettings withFreeSpace(FreeSpaceProbe p) {
        return new HubSettings(endpoint, token, cacheDir, parallelFiles, maxRetries, backoff, maxBackoff, maxRetryAfter, connectTimeout,
                readTimeout, linkMode, p);
    }

    public boolean hasToken() {
        return token != null;
    }

    /** HTTPS anywhere; plain HTTP only to loopback (127.0.0.0/8, ::1, localhost). Throws INSECURE otherwise. */
    static void checkAllowed(URI uri, String what) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (uri.getHost() == null || uri.getRawUserInfo() != null) {
            throw new DownloadException(DownloadException.Kind.INSECURE, what + " " + safe(uri) + " is not an http(s) URL with a host");
        }
        if (scheme.equals("https") || scheme.equals("http") && isLoopback(uri.getHost())) {
            return;
        }
        throw new DownloadException(DownloadException.Kind.INSECURE, what + " " + safe(uri)
                + " is refused: only HTTPS is allowed (plain HTTP only to this computer, 127.0.0.1/localhost)");
    }

    /** Loopback by the literal address or the name localhost; other names are not resolved (no DNS trust). */
    static boolean isLoopback(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.equals("localhost") || h.endsWith(".localhost")) {
            return true;
        }
        if (h.matches("\\d{1,3}(\\.\\d{1,3}){3}") || h.contains(":")) {
            try {
                return InetAddress.getByName(h).isLoopbackAddress(); // a literal: no lookup happens
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    /** A URI for messages: no user info, no query (signed CDN URLs carry credentials there). */
    static String safe(URI uri) {
        if (uri == null) {
            return "null";
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme() + "://";
        String host = uri.getHost() == null ? "" : uri.getHost();
        String port = uri.getPort() < 0 ? "" : ":" + uri.getPort();
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        return scheme + host + port + path;
    }

    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", token=" + (token == null ? "none" : "set (hidden)") + ", cacheDir=" + cacheDir
                + ", parallelFiles=" + parallelFiles + ", maxRetries=" + maxRetries + ", linkMode=" + linkMode + "]";
    }
}
