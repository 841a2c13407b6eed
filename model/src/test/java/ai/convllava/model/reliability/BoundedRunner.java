package ai.convllava.model.reliability;

import java.lang.management.ManagementFactory;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one fuzz case on a daemon worker thread with a deadline, and measures the bytes the case
 * allocated on the Java heap (HotSpot's per-thread allocation counter). A case that misses its
 * deadline is a hang: its thread is abandoned (Java cannot kill it) and a fresh worker takes over,
 * so one hang cannot stall the rest of the run.
 */
final class BoundedRunner implements AutoCloseable {

    enum Kind { OK, CLEAN_ERROR, CRASH, HANG }

    /** How one case ended; {@code error} is the throwable for CLEAN_ERROR and CRASH. */
    record Outcome<T>(Kind kind, T value, Throwable error, long allocatedBytes, long nanos) {
    }

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final String threadName;
    private ExecutorService worker;
    private int abandoned;

    BoundedRunner(String threadName) {
        this.threadName = threadName;
        this.worker = newWorker();
    }

    private ExecutorService newWorker() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName + "-" + abandoned);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Runs {@code task}; a throwable of one of {@code clean} types is a CLEAN_ERROR, any other
     * throwable (including Errors such as OutOfMemoryError or StackOverflowError) is a CRASH.
     */
    @SafeVarargs
    final <T> Outcome<T> run(Callable<T> task, long timeoutMillis, Class<? extends Throwable>... clean) {
        long t0 = System.nanoTime();
        long[] allocated = {-1};
        Future<T> f = worker.submit(() -> {
            long a0 = THREADS.getCurrentThreadAllocatedBytes();
            try {
                return task.call();
            } finally {
                allocated[0] = THREADS.getCurrentThreadAllocatedBytes() - a0;
            }
        });
        try {
            T v = f.get(timeoutMillis, TimeUnit.MILLISECONDS);
            return new Outcome<>(Kind.OK, v, null, allocated[0], System.nanoTime() - t0);
        } catch (TimeoutException e) {
            f.cancel(true);
            worker.shutdownNow();
            abandoned++;
            worker = newWorker();
            return new Outcome<>(Kind.HANG, null, e, -1, System.nanoTime() - t0);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            for (Class<? extends Throwable> c : clean) {
                if (c.isInstance(cause)) {
                    return new Outcome<>(Kind.CLEAN_ERROR, null, cause, allocated[0], System.nanoTime() - t0);
                }
            }
            return new Outcome<>(Kind.CRASH, null, cause, allocated[0], System.nanoTime() - t0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Worker threads given up on because a case hung (each still runs, as a daemon). */
    int abandonedThreads() {
        return abandoned;
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
