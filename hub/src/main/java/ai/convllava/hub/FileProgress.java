package ai.convllava.hub;

/**
 * One file of a download, as a UI row shows it.
 *
 * @param bytesDone bytes on disk so far (including data kept from an earlier attempt)
 * @param attempt   0 for the first try, then the retry number
 * @param message   why it is retrying or failed; null otherwise
 */
public record FileProgress(String repo, String file, long size, long bytesDone, FileState state, int attempt, String message) {
    public double fraction() {
        return size == 0 ? 1 : Math.min(1, (double) bytesDone / size);
    }
}
