package ai.convllava.model.session;

import ai.convllava.model.api.TaskHandle;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/** A {@link TaskHandle} backed by a future and a cancellation flag the work polls. */
class SimpleTaskHandle<T> implements TaskHandle<T> {
    private final CompletableFuture<T> result = new CompletableFuture<>();
    private final AtomicBoolean cancelled = new AtomicBoolean();
    private final BooleanSupplier alsoCancelledWhen;

    SimpleTaskHandle(BooleanSupplier alsoCancelledWhen) {
        this.alsoCancelledWhen = alsoCancelledWhen;
    }

    SimpleTaskHandle() {
        this(() -> false);
    }

    @Override
    public CompletableFuture<T> result() {
        return result;
    }

    @Override
    public void cancel() {
        cancelled.set(true);
    }

    @Override
    public boolean isCancelled() {
        return cancelled.get() || alsoCancelledWhen.getAsBoolean();
    }

    /** The poll the engine calls between tensors, layers and tokens. */
    BooleanSupplier cancelCheck() {
        return this::isCancelled;
    }

    CompletableFuture<T> future() {
        return result;
    }
}
