package ai.convllava.hub;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Cancellation of one download: a flag, waits that end early on cancel, and the open transfers
 * (stream + reading thread) that a cancel or a stall closes so a blocked read returns at once.
 */
final class CancelToken {
    private final CountDownLatch cancelled = new CountDownLatch(1);
    private final Set<Transfer> transfers = ConcurrentHashMap.newKeySet();

    /** An open body stream read by one thread; {@link #abort} closes the stream and interrupts the reader. */
    static final class Transfer {
        final Closeable stream;
        final Thread reader;
        volatile long lastProgressNanos = System.nanoTime();
        volatile boolean stalled;
        private volatile boolean done;

        Transfer(Closeable stream, Thread reader) {
            this.stream = stream;
            this.reader = reader;
        }

        void touch() {
            lastProgressNanos = System.nanoTime();
        }

        synchronized void abort() {
            if (done) {
                return;
            }
            done = true;
            try {
                stream.close();
            } catch (IOException | RuntimeException ignored) {
                // closing is best effort; the interrupt below unblocks the read anyway
            }
            reader.interrupt();
        }

        /** Ends the transfer normally; clears an interrupt an abort might have raced in. */
        synchronized void finish() {
            done = true;
            if (Thread.currentThread() == reader) {
                Thread.interrupted();
            }
        }
    }

    void cancel() {
        cancelled.countDown();
        for (Transfer t : transfers) {
            t.abort();
        }
    }

    boolean isCancelled() {
        return cancelled.getCount() == 0;
    }

    void throwIfCancelled() {
        if (isCancelled()) {
            throw new DownloadException(DownloadException.Kind.CANCELLED, "download cancelled");
        }
    }

    /** Sleeps, waking early (and throwing CANCELLED) on cancel. */
    void sleep(Duration d) {
        try {
            if (cancelled.await(Math.max(0, d.toMillis()), TimeUnit.MILLISECONDS)) {
                throwIfCancelled();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DownloadException(DownloadException.Kind.CANCELLED, "download interrupted");
        }
    }

    Transfer open(Closeable stream) {
        Transfer t = new Transfer(stream, Thread.currentThread());
        transfers.add(t);
        if (isCancelled()) {
            t.abort();
        }
        return t;
    }

    void close(Transfer t) {
        transfers.remove(t);
        t.finish();
    }

    /** Aborts transfers that received nothing for {@code timeout}; called periodically by a watchdog. */
    void abortStalled(Duration timeout) {
        long now = System.nanoTime();
        for (Transfer t : transfers) {
            if (now - t.lastProgressNanos > timeout.toNanos()) {
                t.stalled = true;
                t.abort();
            }
        }
    }
}
