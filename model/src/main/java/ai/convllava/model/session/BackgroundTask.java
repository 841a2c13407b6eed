package ai.convllava.model.session;

import ai.convllava.model.api.TaskHandle;

import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/** Work that is not a question (quantizing weights) on a thread of its own, with a {@link TaskHandle}. */
public final class BackgroundTask {
    private BackgroundTask() {
    }

    /** Starts {@code work} on a daemon thread named {@code name}; the work polls the supplier it is given to stop early. */
    public static <T> TaskHandle<T> start(String name, Function<BooleanSupplier, T> work) {
        SimpleTaskHandle<T> handle = new SimpleTaskHandle<>();
        Thread t = new Thread(() -> {
            try {
                T value = work.apply(handle.cancelCheck());
                if (handle.isCancelled()) {
                    handle.future().completeExceptionally(new CancellationException(name + " was cancelled"));
                } else {
                    handle.future().complete(value);
                }
            } catch (Throwable e) {
                handle.future().completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return handle;
    }
}
