package ai.convllava.app.gui.common;

import javafx.animation.PauseTransition;
import javafx.util.Duration;

/**
 * Runs an action once, a fixed pause after the last of a burst of {@link #restart()} calls (typing):
 * each call replaces the pending run. Everything happens on the UI thread; the pause itself is a
 * {@link Timer}, a JavaFX {@link PauseTransition} in the app and a hand-driven one in tests.
 */
public final class Debouncer {
    /** Runs {@code action} on the UI thread after {@code delayMs}; the returned runnable cancels it. */
    @FunctionalInterface
    public interface Timer {
        Runnable schedule(long delayMs, Runnable action);

        /** A {@link PauseTransition} (call from the FX thread; it never blocks it). */
        static Timer fx() {
            return (delayMs, action) -> {
                PauseTransition pause = new PauseTransition(Duration.millis(delayMs));
                pause.setOnFinished(e -> action.run());
                pause.play();
                return pause::stop;
            };
        }
    }

    private final Timer timer;
    private final long delayMs;
    private final Runnable action;
    /** The pending run (null when none) and what cancels it. */
    private Object pending;
    private Runnable cancelPending = () -> { };

    public Debouncer(Timer timer, long delayMs, Runnable action) {
        this.timer = timer;
        this.delayMs = delayMs;
        this.action = action;
    }

    /** (Re)starts the pause: the action runs {@code delayMs} after the last call. */
    public void restart() {
        cancel();
        Object run = new Object();
        pending = run;
        cancelPending = timer.schedule(delayMs, () -> {
            if (pending == run) {
                pending = null;
                action.run();
            }
        });
    }

    /** Drops the pending run, if any. */
    public void cancel() {
        pending = null;
        cancelPending.run();
        cancelPending = () -> { };
    }

    public boolean isPending() {
        return pending != null;
    }
}
