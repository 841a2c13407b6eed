package ai.convllava.hub;

import java.time.Duration;
import java.util.Optional;

/**
 * A download, verification or removal that failed, with a message written for the user (what,
 * where, and the way forward). Never carries the token: messages name URLs and files only.
 */
public final class DownloadException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, for a UI that wants to offer a specific action (enter a token, open the licence page, retry). */
    public enum Kind {
        /** 401: a token is needed, or the one given is invalid. */
        UNAUTHORIZED,
        /** 403 / gated repo: the licence must be accepted on the website with the token's account. */
        GATED,
        /** 404: no such repository, revision or file. */
        NOT_FOUND,
        /** 429 after the allowed retries, or a Retry-After longer than we wait. */
        RATE_LIMITED,
        /** 5xx after the allowed retries, or an unexpected status. */
        SERVER,
        /** The host name of the endpoint does not resolve. */
        DNS,
        /** No connection (refused, unreachable, timed out, dropped too often). */
        NETWORK,
        /** A URL or redirect that is not HTTPS (and not loopback), or too many redirects. */
        INSECURE,
        /** A file name from the server that would escape the snapshot folder. */
        BAD_FILE_NAME,
        /** sha256 / size / git-blob hash mismatch. */
        INTEGRITY,
        /** Not enough free disk space. */
        DISK_FULL,
        /** Reading or writing the cache failed. */
        IO,
        /** The user cancelled. */
        CANCELLED
    }

    private final Kind kind;
    private final transient Duration retryAfter;

    public DownloadException(Kind kind, String message) {
        this(kind, message, (Duration) null);
    }

    /** A rate limit that says how long to wait ({@code Retry-After}). */
    DownloadException(Kind kind, String message, Duration retryAfter) {
        super(message);
        this.kind = kind;
        this.retryAfter = retryAfter;
    }

    public DownloadException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.retryAfter = null;
    }

    /** The server's Retry-After, when it gave one. */
    public Optional<Duration> retryAfter() {
        return Optional.ofNullable(retryAfter);
    }

    public Kind kind() {
        return kind;
    }

    /** Worth retrying automatically (bounded): rate limits, server errors and dropped connections. */
    public boolean transientFailure() {
        return kind == Kind.RATE_LIMITED || kind == Kind.SERVER || kind == Kind.NETWORK;
    }
}
