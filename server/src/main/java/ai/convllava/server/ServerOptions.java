package ai.convllava.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;

/**
 * How the local server listens and what it accepts.
 *
 * @param host            address to bind; loopback by default, anything else needs an {@code apiKey}
 * @param port            0 picks a free port (tests)
 * @param apiKey          the bearer token every request must carry, or null for none (loopback only)
 * @param allowedFolder   {@code file://} image URLs are read only inside this folder (symbolic links
 *                        resolved); null refuses every file URL
 * @param maxBodyBytes    a larger request body is refused with 413 before it is read
 * @param maxImagePixels  a larger image is refused before its pixels are decoded
 * @param maxTokens       the largest max_tokens a request may ask for
 * @param maxQueued       requests waiting behind the running one; more get 429
 * @param heartbeatMillis a streamed request that has had nothing to send for this long gets an SSE comment
 *                        ({@code : keep-alive}): the JDK server notices a client that left only when a write
 *                        fails, and a request can wait in the queue, or in a cold prefill (100 s on the
 *                        full model), with nothing else to write
 */
public record ServerOptions(String host, int port, String apiKey, Path allowedFolder, long maxBodyBytes, long maxImagePixels, int maxTokens,
                            int maxQueued, long heartbeatMillis) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8080;
    /** The OpenAI API's own limit per image is 20 MB; base64 adds a third, plus the rest of the request. */
    public static final long DEFAULT_MAX_BODY_BYTES = 32L << 20;
    /** 16.7 megapixels, 50 MB decoded: ten times the largest canvas (1536 x 1536 is 2.4), so nothing is lost to resizing. */
    public static final long DEFAULT_MAX_IMAGE_PIXELS = 1L << 24;
    public static final int DEFAULT_MAX_TOKENS = 4096;
    /**
     * Each queued request holds its decoded image (up to 50 MB at the pixel limit) and a thread until its
     * turn, so the queue is bounded: 32 waiting is at most 1.6 GB of images in the worst case.
     */
    public static final int DEFAULT_MAX_QUEUED = 32;
    public static final long DEFAULT_HEARTBEAT_MILLIS = 1000;

    public ServerOptions {
        if (host == null || host.isBlank()) {
            host = DEFAULT_HOST;
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be in [0, 65535] (got " + port + ")");
        }
        if (apiKey != null && apiKey.isBlank()) {
            apiKey = null;
        }
        if (maxBodyBytes < 1024 || maxImagePixels < 1 || maxTokens < 1 || maxQueued < 0 || heartbeatMillis < 1) {
            throw new IllegalArgumentException("limits must be positive (got max body " + maxBodyBytes + " bytes, max image " + maxImagePixels
                    + " pixels, max tokens " + maxTokens + ", max queued " + maxQueued + ", heartbeat " + heartbeatMillis + " ms)");
        }
        if (apiKey == null && !isLoopback(host)) {
            throw new IllegalArgumentException("binding to " + host + " exposes the model to the network: give an API key (--api-key or"
                    + " CONVLLAVA_API_KEY), or bind to 127.0.0.1");
        }
    }

    public static ServerOptions defaults() {
        return new ServerOptions(DEFAULT_HOST, DEFAULT_PORT, null, null, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_TOKENS,
                DEFAULT_MAX_QUEUED, DEFAULT_HEARTBEAT_MILLIS);
    }

    public ServerOptions withHost(String h) {
        return new ServerOptions(h, port, apiKey, allowedFolder, maxBodyBytes, maxImagePixels, maxTokens, maxQueued, heartbeatMillis);
    }

    public ServerOptions withPort(int p) {
        return new ServerOptions(host, p, apiKey, allowedFolder, maxBodyBytes, maxImagePixels, maxTokens, maxQueued, heartbeatMillis);
    }

    public ServerOptions withApiKey(String key) {
        return new ServerOptions(host, port, key, allowedFolder, maxBodyBytes, maxImagePixels, maxTokens, maxQueued, heartbeatMillis);
    }

    public ServerOptions withAllowedFolder(Path folder) {
        return new ServerOptions(host, port, apiKey, folder, maxBodyBytes, maxImagePixels, maxTokens, maxQueued, heartbeatMillis);
    }

    public ServerOptions withMaxBodyBytes(long bytes) {
        return new ServerOptions(host, port, apiKey, allowedFolder, bytes, maxImagePixels, maxTokens, maxQueued, heartbeatMillis);
    }

    public ServerOptions withMaxQueued(int n) {
        return new ServerOptions(host, port, apiKey, allowedFolder, maxBodyBytes, maxImagePixels, maxTokens, n, heartbeatMillis);
    }

    public ServerOptions withHeartbeatMillis(long ms) {
        return new ServerOptions(host, port, apiKey, allowedFolder, maxBodyBytes, maxImagePixels, maxTokens, maxQueued, ms);
    }

    /** Whether {@code host} names only this machine (127.0.0.0/8, ::1, localhost); an unknown name is not. */
    public static boolean isLoopback(String host) {
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (!a.isLoopbackAddress()) {
                    return false;
                }
            }
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
