package ai.convllava.hub;

import ai.convllava.hub.DownloadException.Kind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The Hub's HTTP API: model info and file downloads. Redirects are followed by hand so each hop is
 * checked (HTTPS only, or loopback; at most {@value #MAX_REDIRECTS} hops) and the token is sent
 * only to the endpoint's own origin, never to a CDN. Failures become {@link DownloadException}s
 * with the user's way forward; transient ones (429, 5xx, connection errors) are retried with
 * exponential backoff, a bounded number of times.
 */
final class HubClient {
    static final int MAX_REDIRECTS = 5;
    private static final Logger LOG = LoggerFactory.getLogger(HubClient.class);
    private static final String USER_AGENT = "convllava-desktop/0.1.0; java/" + System.getProperty("java.version");

    private final HubSettings settings;
    private final HttpClient http;

    HubClient(HubSettings settings) {
        this.settings = settings;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(settings.connectTimeout())
                .version(HttpClient.Version.HTTP_1_1)
                .proxy(ProxySelector.getDefault()) // -Dhttps.proxyHost / system proxies; loopback is never proxied
                .build();
    }

    HubSettings settings() {
        return settings;
    }

    /** An open file body; {@code offset} is where it starts (0 or the requested resume point). */
    record Body(int status, long offset, long length, String etag, InputStream stream, URI uri) {
    }

    /** {@code GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true}, with retries. */
    RepoInfo modelInfo(String repo, String revision, CancelToken cancel, Consumer<String> notes) {
        RepoId.check(repo);
        URI uri = URI.create(settings.endpoint() + "/api/models/" + repo + "/revision/" + encodeSegment(revision) + "?blobs=true");
        String what = "revision " + revision + " of " + repo;
        return retrying(what, cancel, notes, () -> {
            HttpResponse<InputStream> r = get(uri, -1, what, cancel);
            try (InputStream in = r.body()) {
                if (r.statusCode() != 200) {
                    throw failure(r.statusCode(), r.headers(), what, repo, r.uri());
                }
                byte[] json = in.readNBytes(64 << 20);
                return RepoInfo.parse(repo, json);
            } catch (IOException e) {
                throw network(e, r.uri());
            }
        });
    }

    /** {@code {endpoint}/{repo}/resolve/{commit}/{file}}, from {@code offset} on (Range), one attempt (the caller resumes). */
    Body openFile(String repo, String commit, String file, long offset, CancelToken cancel) {
        StringBuilder path = new StringBuilder();
        for (String seg : FileNames.check(file).split("/")) {
            path.append('/').append(encodeSegment(seg));
        }
        URI uri = URI.create(settings.endpoint() + "/" + RepoId.check(repo) + "/resolve/" + encodeSegment(commit) + path);
        String what = "file " + file + " of " + repo + "@" + commit.substring(0, Math.min(10, commit.length()));
        HttpResponse<InputStream> r = get(uri, offset, what, cancel);
        int st = r.statusCode();
        if (st == 200 || st == 206) {
            long start = 0;
            if (st == 206) {
                start = contentRangeStart(r.headers()).orElse(-1L);
            }
            long len = r.headers().firstValueAsLong("Content-Length").orElse(-1);
            String etag = r.headers().firstValue("X-Linked-Etag").or(() -> r.headers().firstValue("ETag")).map(HubClient::normalizeEtag).orElse(null);
            return new Body(st, start, len, etag, r.body(), r.uri());
        }
        closeQuietly(r.body());
        if (st == 416) {
            return new Body(st, offset, 0, null, InputStream.nullInputStream(), r.uri());
        }
        throw failure(st, r.headers(), what, repo, r.uri());
    }

    /** One GET with the redirect chain followed by hand; returns the final non-redirect response. */
    private HttpResponse<InputStream> get(URI start, long rangeFrom, String what, CancelToken cancel) {
        URI uri = start;
        for (int hop = 0; ; hop++) {
            cancel.throwIfCancelled();
            HubSettings.checkAllowed(uri, hop == 0 ? "URL" : "redirect for " + what + " to");
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().timeout(settings.readTimeout())
                    .header("User-Agent", USER_AGENT);
            if (rangeFrom > 0) {
                b.header("Range", "bytes=" + rangeFrom + "-");
            }
            if (settings.token() != null && sameOrigin(uri, settings.endpoint())) {
                b.header("Authorization", "Bearer " + settings.token());
            }
            HttpResponse<InputStream> r = await(http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream()), uri, what, cancel);
            int st = r.statusCode();
            if (st != 301 && st != 302 && st != 303 && st != 307 && st != 308) {
                return r;
            }
            closeQuietly(r.body());
            String loc = r.headers().firstValue("Location").orElse(null);
            if (loc == null) {
                throw new DownloadException(Kind.SERVER, HubSettings.safe(uri) + " answered " + st + " without a Location");
            }
            if (hop + 1 > MAX_REDIRECTS) {
                throw new DownloadException(Kind.INSECURE, "too many redirects (more than " + MAX_REDIRECTS + ") for " + what);
            }
            URI next;
            try {
                next = uri.resolve(loc.trim());
            } catch (IllegalArgumentException e) {
                throw new DownloadException(Kind.SERVER, HubSettings.safe(uri) + " redirected to a malformed URL");
            }
            LOG.debug("{} redirects to {}", HubSettings.safe(uri), HubSettings.safe(next));
            uri = next;
        }
    }

    /** Waits for the response headers, giving up at once when the download is cancelled. */
    private static HttpResponse<InputStream> await(CompletableFuture<HttpResponse<InputStream>> f, URI uri, String what, CancelToken cancel) {
        try {
            while (true) {
                if (cancel.isCancelled()) {
                    f.cancel(true);
                    f.thenAccept(r -> closeQuietly(r.body()));
                    cancel.throwIfCancelled();
                }
                try {
                    return f.get(100, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    // poll the cancel flag again
                }
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw network(io, uri);
            }
            throw new DownloadException(Kind.NETWORK, "the request for " + what + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            f.cancel(true);
            cancel.throwIfCancelled();
            throw new DownloadException(Kind.NETWORK, "the request for " + what + " was interrupted", e);
        }
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    /** Runs {@code call}, retrying transient failures with exponential backoff (or Retry-After). */
    <T> T retrying(String what, CancelToken cancel, Consumer<String> notes, Supplier<T> call) {
        for (int attempt = 0; ; attempt++) {
            cancel.throwIfCancelled();
            try {
                return call.get();
            } catch (DownloadException e) {
                if (!e.transientFailure() || attempt >= settings.maxRetries() || cancel.isCancelled()) {
                    throw e;
                }
                Duration wait = waitBefore(attempt + 1, e);
                notes.accept(e.getMessage() + "; retry " + (attempt + 1) + " of " + settings.maxRetries() + " in " + seconds(wait));
                cancel.sleep(wait);
            }
        }
    }

    /** Retry-After when the server gave one (already bounded), else {@code backoff * 2^(n-1)} with +-25% jitter, capped. */
    Duration waitBefore(int retry, DownloadException e) {
        if (e.retryAfter().isPresent()) {
            return e.retryAfter().get();
        }
        long base = settings.backoff().toMillis() << Math.min(20, retry - 1);
        long capped = Math.min(base, settings.maxBackoff().toMillis());
        double jitter = 0.75 + 0.5 * ThreadLocalRandom.current().nextDouble();
        return Duration.ofMillis((long) (capped * jitter));
    }

    static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    /** The user-facing error for an HTTP status. */
    DownloadException failure(int status, HttpHeaders h, String what, String repo, URI uri) {
        String code = h.firstValue("X-Error-Code").orElse("");
        String page = settings.endpoint() + "/" + repo;
        boolean hub = sameOrigin(uri, settings.endpoint());
        switch (code) {
            case "RepoNotFound":
                return new DownloadException(Kind.NOT_FOUND, "repository " + repo + " was not found on " + settings.endpoint()
                        + (settings.hasToken() ? "" : " (if it is private, set HF_TOKEN to a token that can read it)"));
            case "RevisionNotFound":
                return new DownloadException(Kind.NOT_FOUND, what + " was not found: no such branch, tag or commit");
            case "EntryNotFound":
                return new DownloadException(Kind.NOT_FOUND, what + " was not found in the repository");
            case "GatedRepo":
                return gated(status, repo, page);
            default:
                break;
        }
        if (status == 401) {
            return new DownloadException(Kind.UNAUTHORIZED, settings.hasToken()
                    ? "the Hugging Face token was refused (401) for " + repo + ": it is invalid or expired; create a read token at "
                      + "https://huggingface.co/settings/tokens and set HF_TOKEN"
                    : repo + " needs a Hugging Face token (401): create a read token at https://huggingface.co/settings/tokens and set HF_TOKEN");
        }
        if (status == 403) {
            return hub ? gated(status, repo, page)
                    : new DownloadException(Kind.GATED, "the download server refused " + what + " (403 from " + uri.getHost()
                      + "); the signed link may have expired: try again");
        }
        if (status == 404 || status == 410) {
            return new DownloadException(Kind.NOT_FOUND, what + " was not found (" + status + " from " + HubSettings.safe(uri) + ")");
        }
        if (status == 429) {
            Duration wait = retryAfter(h).orElse(null);
            if (wait != null && wait.compareTo(settings.maxRetryAfter()) > 0) {
                return new DownloadException(Kind.RATE_LIMITED, settings.endpoint().getHost() + " is rate limiting downloads (429) and asks"
                        + " to wait " + seconds(wait) + ": try again later" + (settings.hasToken() ? "" : ", or set HF_TOKEN (logged-in users get higher limits)"));
            }
            String msg = settings.endpoint().getHost() + " is rate limiting downloads (429)";
            return wait == null ? new DownloadException(Kind.RATE_LIMITED, msg) : new DownloadException(Kind.RATE_LIMITED, msg + ", Retry-After " + seconds(wait), wait);
        }
        if (status >= 500) {
            return new DownloadException(Kind.SERVER, uri.getHost() + " had a server error (" + status + ") for " + what);
        }
        DownloadException e = new DownloadException(Kind.SERVER, "unexpected answer " + status + " from " + HubSettings.safe(uri) + " for " + what);
        return status == 408 ? new DownloadException(Kind.NETWORK, e.getMessage()) : e;
    }

    private static DownloadException gated(int status, String repo, String page) {
        return new DownloadException(Kind.GATED, "access to " + repo + " is restricted (" + status + "): open " + page
                + ", log in and accept its licence, then set HF_TOKEN to a read token of that account");
    }

    static Optional<Duration> retryAfter(HttpHeaders h) {
        Optional<String> v = h.firstValue("Retry-After").map(String::trim);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(v.get()))));
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime t = ZonedDateTime.parse(v.get(), DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(ZonedDateTime.now(t.getZone()), t);
                return Optional.of(d.isNegative() ? Duration.ZERO : d);
            } catch (RuntimeException e2) {
                return Optional.empty();
            }
        }
    }

    /** Connection-level failures: DNS, refused/unreachable, timeouts, dropped connections. */
    static DownloadException network(IOException e, URI uri) {
        String host = uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "");
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
                return new DownloadException(Kind.DNS, "cannot resolve " + uri.getHost() + ": no network or no DNS. Check the connection,"
                        + " or set HF_ENDPOINT to a reachable mirror", e);
            }
        }
        if (e instanceof HttpConnectTimeoutException) {
            return new DownloadException(Kind.NETWORK, "timed out connecting to " + host + ": no network, or a firewall/proxy blocks it", e);
        }
        if (e instanceof ConnectException) {
            return new DownloadException(Kind.NETWORK, "cannot connect to " + host + " (" + Objects.toString(e.getMessage(), "connection refused")
                    + "): no network, or the server is down", e);
        }
        if (e instanceof HttpTimeoutException) {
            return new DownloadException(Kind.NETWORK, host + " did not answer in time", e);
        }
        return new DownloadException(Kind.NETWORK, "the connection to " + host + " failed: " + e, e);
    }

    static Optional<Long> contentRangeStart(HttpHeaders h) {
        // Content-Range: bytes 100-999/1000
        return h.firstValue("Content-Range").map(String::trim).filter(s -> s.startsWith("bytes ")).map(s -> {
            int dash = s.indexOf('-');
            try {
                return dash > 6 ? Long.parseLong(s.substring(6, dash).trim()) : -1L;
            } catch (NumberFormatException e) {
                return -1L;
            }
        });
    }

    /** huggingface_hub's {@code _normalize_etag}: no weak prefix, no quotes. */
    static String normalizeEtag(String etag) {
        String e = etag.trim();
        if (e.startsWith("W/")) {
            e = e.substring(2);
        }
        return e.replace("\"", "");
    }

    static String encodeSegment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
