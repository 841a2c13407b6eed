package ai.convllava.hub;

/** Where one file of a download is. */
public enum FileState {
    /** Waiting for a free download slot. */
    QUEUED,
    /** Already in the cache (verified blob or snapshot file): nothing to download. */
    PRESENT,
    /** Hashing the partial data kept from an earlier attempt before resuming it. */
    HASHING_PARTIAL,
    DOWNLOADING,
    /** Waiting before a retry (dropped connection, 429, 5xx, or a hash mismatch re-download). */
    RETRYING,
    /** Checking sha256 / size; the file is not usable before this passes. */
    VERIFYING,
    /** Verified and stored as a blob. */
    DONE,
    FAILED,
    CANCELLED
}
