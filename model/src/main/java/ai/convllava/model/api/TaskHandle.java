package ai.convllava.model.api;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A piece of background work on the inference thread: its result (or failure) and a way to stop it.
 * Cancelling is cooperative and fast: the engine checks between tensors, layers and tokens.
 */
public interface TaskHandle<T> {
    CompletableFuture<T> result();

    void cancel();

    boolean isCancelled();

    /**
     * Waits for the result: the value, or the task's own exception (a {@link ConvLlavaException} names
     * what went wrong), or a {@link java.util.concurrent.CancellationException} when it was cancelled.
     */
    default T join() {
        try {
            return result().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }
}
