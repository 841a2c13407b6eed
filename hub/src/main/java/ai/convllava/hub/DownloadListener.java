package ai.convllava.hub;

/**
 * Receives a download's progress. Called from download threads (never the UI thread; a JavaFX UI
 * hands each call to {@code Platform.runLater}), one call at a time.
 */
public interface DownloadListener {
    DownloadListener NONE = new DownloadListener() {
    };

    /** Overall progress: a few times a second and on every phase change. */
    default void onProgress(DownloadProgress progress) {
    }

    /** One file changed state (queued, resumed, retrying, verified, failed...). */
    default void onFile(FileProgress file) {
    }

    /** A line for a log view: retries and their reason, reused files, the space check. Never contains the token. */
    default void onNote(String message) {
    }
}
