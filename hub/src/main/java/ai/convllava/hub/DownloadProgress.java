package ai.convllava.hub;

import java.time.Duration;
import java.util.List;

/**
 * The whole download at one moment (sent a few times a second, and on every phase change).
 *
 * @param bytesDone      bytes of both repos that are on disk (already present, kept partial data, downloaded)
 * @param bytesTotal     bytes of both repos (known after LISTING)
 * @param bytesPerSecond network speed over the last few seconds
 * @param eta            time left at that speed; null when unknown (no speed yet)
 * @param files          every file's latest state, repos in download order
 */
public record DownloadProgress(Phase phase, long bytesDone, long bytesTotal, double bytesPerSecond, Duration eta, int filesDone,
                               int filesTotal, List<FileProgress> files) {
    public enum Phase {
        /** Asking the Hub for the file lists. */
        LISTING,
        /** Comparing with the cache and checking free disk space. */
        PREPARING,
        DOWNLOADING,
        /** All files verified; making the snapshot folders and refs. */
        FINISHING,
        DONE,
        FAILED,
        CANCELLED
    }

    public double fraction() {
        return bytesTotal <= 0 ? 0 : Math.min(1, (double) bytesDone / bytesTotal);
    }
}
