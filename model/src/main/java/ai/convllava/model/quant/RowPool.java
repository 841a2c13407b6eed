package ai.convllava.model.quant;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Work over output rows on every core: the calling thread and a fixed pool of (cores - 1) daemon
 * threads take chunks of rows until none are left, so a thread that started late or was interrupted
 * by the OS does not hold the others up.
 */
final class RowPool {
    private static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static final ExecutorService HELPERS = THREADS > 1 ? Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread t = new Thread(r, "convllava-quant");
        t.setDaemon(true);
        return t;
    }) : null;

    /** Rows {@code [a, b)} of the work. */
    interface Range {
        void run(int a, int b);
    }

    /** Rows {@code [a, b)} of the work, with the state the running thread made for this call. */
    interface RangeWith<S> {
        void run(int a, int b, S state);
    }

    private RowPool() {
    }

    static void forRows(int rows, int chunk, Range work) {
        forRows(rows, chunk, () -> null, (a, b, none) -> work.run(a, b));
    }

    /**
     * As {@link #forRows(int, int, Range)}, each thread making its {@code state} (a scratch buffer) once
     * when it starts on this call's chunks, not once per chunk: a prompt's product has dozens of chunks.
     */
    static <S> void forRows(int rows, int chunk, java.util.function.Supplier<S> state, RangeWith<S> work) {
        int chunks = (rows + chunk - 1) / chunk;
        if (HELPERS == null || chunks < 2) {
            work.run(0, rows, state.get());
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            S own = state.get();
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                work.run(c * chunk, Math.min(rows, (c + 1) * chunk), own);
            }
        };
        int helpers = Math.min(THREADS - 1, chunks - 1);
        Future<?>[] running = new Future<?>[helpers];
        for (int i = 0; i < helpers; i++) {
            running[i] = HELPERS.submit(worker);
        }
        worker.run();
        for (Future<?> f : running) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the row workers ran", e);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                if (c instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(c);
            }
        }
    }
}
