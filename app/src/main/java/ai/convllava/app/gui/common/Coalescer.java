package ai.convllava.app.gui.common;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs an action on the UI executor at most once per pending request: however many times
 * {@link #request()} is called from background threads before the UI thread gets to it, the action runs
 * once (a coalescing {@code Platform.runLater}, so a burst of tokens costs one UI update per pulse).
 */
public final class Coalescer {
    private final Executor ui;
    private final Runnable action;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicLong runs = new AtomicLong();

    public Coalescer(Executor ui, Runnable action) {
        this.ui = ui;
        this.action = action;
    }

    public void request() {
        if (scheduled.compareAndSet(false, true)) {
            ui.execute(() -> {
                scheduled.set(false);
                runs.incrementAndGet();
                action.run();
            });
        }
    }

    /** How many times the action ran (tests check the batching). */
    public long runs() {
        return runs.get();
    }
}
