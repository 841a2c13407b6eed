package ai.convllava.hub;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/** A running download: cancel it, or wait for its {@link DownloadResult} (which never completes exceptionally). */
public final class DownloadHandle {
    private final Runnable cancel;
    private final CompletableFuture<DownloadResult> result;

    DownloadHandle(Runnable cancel, CompletableFuture<DownloadResult> result) {
        this.cancel = cancel;
        this.result = result;
    }

    /** Stops as soon as possible; partial files are kept (as {@code .incomplete}) for a later resume. */
    public void cancel() {
        cancel.run();
    }

    public boolean isDone() {
        return result.isDone();
    }

    public CompletableFuture<DownloadResult> result() {
        return result;
    }

    /** Blocks until the download ends. */
    public DownloadResult await() throws InterruptedException {
        try {
            return result.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the download task failed unexpectedly", e.getCause());
        }
    }
}
