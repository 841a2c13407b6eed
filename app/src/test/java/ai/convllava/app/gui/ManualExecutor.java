package ai.convllava.app.gui;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;

/** Stands in for the FX thread: runnables queue until the test runs them (one "pulse"). */
public final class ManualExecutor implements Executor {
    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();

    @Override
    public void execute(Runnable r) {
        queue.add(r);
    }

    public int pending() {
        return queue.size();
    }

    /** Runs everything queued, including what those runnables queue. */
    public int runAll() {
        int n = 0;
        for (Runnable r; (r = queue.poll()) != null; ) {
            r.run();
            n++;
        }
        return n;
    }
}
