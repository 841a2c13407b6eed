package ai.convllava.model.api;

import java.util.concurrent.CompletableFuture;

/**
 * A piece of background work on the inference thread: its result (or failure) and a way to stop it.
 * Cancelling is cooperative and fast: the engine checks between tensors, layers and tokens.
 */
public interface TaskHandle<T> {
    CompletableFuture<T> result();

    void cancel();

    boolean isCancelled();
}
