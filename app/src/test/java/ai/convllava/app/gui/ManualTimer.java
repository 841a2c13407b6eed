package ai.convllava.app.gui;

import ai.convllava.app.gui.common.Debouncer;

import java.util.ArrayList;
import java.util.List;

/** Stands in for JavaFX pauses: scheduled actions wait until the test says the pause is over. */
public final class ManualTimer implements Debouncer.Timer {
    private final List<Runnable> scheduled = new ArrayList<>();

    @Override
    public Runnable schedule(long delayMs, Runnable action) {
        scheduled.add(action);
        return () -> scheduled.remove(action);
    }

    /** Pauses waiting to end. */
    public int pending() {
        return scheduled.size();
    }

    /** Every pause scheduled so far ends: their actions run, in order. */
    public void elapse() {
        List<Runnable> due = new ArrayList<>(scheduled);
        scheduled.clear();
        due.forEach(Runnable::run);
    }
}
