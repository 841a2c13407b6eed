package ai.convllava.server;

import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Stage;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.PreprocessedImage;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The one model, one request at a time, first come first served. A job's HTTP thread waits on the
 * job's events (its queue position as it changes, the answer's text, the end) and writes them; the
 * one worker thread here runs the jobs through the session.
 *
 * <p>KV prefix reuse: the session keeps the conversation's cache between questions and reuses
 * whatever prefix of the new prompt it already holds, as long as the image stays the same; so the
 * worker calls {@code setImage} only when a request's image (its bytes and mode) differs from the
 * last one's, and a client that resends the conversation with one more turn only pays for the new turn.
 */
final class ModelQueue implements AutoCloseable {
    /** What a job's HTTP thread receives. */
    sealed interface Event permits Position, Text, Done, Failed {
    }

    /** Requests ahead of this one (0: it is running now). */
    record Position(int ahead) implements Event {
    }

    record Text(String delta) implements Event {
    }

    /**
     * @param finishReason OpenAI's: stop, length, or cancelled (the client went away)
     * @param sessionMs    time in the session (setImage when the image changed, then ask until its result): the
     *                     in-process call; the rest of a request's time is what the server adds
     */
    record Done(GenerationResult result, String text, String finishReason, CanvasGeometry geometry, double sessionMs) implements Event {
    }

    record Failed(RuntimeException error) implements Event {
    }

    final class Job {
        final ParsedChat chat;
        final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        private volatile boolean cancelled;
        private volatile TaskHandle<GenerationResult> handle;

        private Job(ParsedChat chat) {
            this.chat = chat;
        }

        /** Stops the job: out of the queue if it waits, its generation cancelled at the next token if it runs. */
        void cancel() {
            cancelled = true;
            boolean removed;
            synchronized (lock) {
                removed = waiting.remove(this);
            }
            if (removed) {
                events.add(new Done(null, "", "cancelled", null, 0));
                announcePositions();
            }
            TaskHandle<GenerationResult> h = handle;
            if (h != null) {
                h.cancel();
            }
        }
    }

    private final VisionChatSession session;
    private final Object lock = new Object();
    private final ArrayDeque<Job> waiting = new ArrayDeque<>();
    private final Thread worker;
    private Job running;
    private boolean closed;
    /** The image the session has now (worker thread only): the same key needs no setImage. */
    private String currentImageKey;
    private CanvasGeometry currentGeometry;

    ModelQueue(VisionChatSession session) {
        this.session = session;
        this.worker = new Thread(this::work, "convllava-server-queue");
        worker.setDaemon(true);
        worker.start();
    }

    /** Queues a job; its first event is its position. */
    Job submit(ParsedChat chat) {
        Job j = new Job(chat);
        synchronized (lock) {
            if (closed) {
                throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
            }
            waiting.add(j);
            j.events.add(new Position(waiting.size() - 1 + (running != null ? 1 : 0)));
            lock.notifyAll();
        }
        return j;
    }

    /** Requests running or waiting now. */
    int size() {
        synchronized (lock) {
            return waiting.size() + (running != null ? 1 : 0);
        }
    }

    private void announcePositions() {
        synchronized (lock) {
            int ahead = running != null ? 1 : 0;
            for (Job j : waiting) {
                j.events.add(new Position(ahead++));
            }
        }
    }

    private void work() {
        while (true) {
            Job j;
            synchronized (lock) {
                while (waiting.isEmpty() && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (closed) {
                    return;
                }
                j = waiting.poll();
                running = j;
            }
            announcePositions();
            try {
                if (!j.cancelled) {
                    j.events.add(new Position(0));
                    run(j);
                } else {
                    j.events.add(new Done(null, "", "cancelled", null, 0));
                }
            } catch (RuntimeException | Error e) { // the worker must survive anything a request does
                j.events.add(new Failed(e instanceof RuntimeException r ? r : new IllegalStateException(e.toString(), e)));
            } finally {
                synchronized (lock) {
                    running = null;
                }
            }
        }
    }

    private void run(Job j) {
        long t0 = System.nanoTime();
        ParsedChat c = j.chat;
        if (!c.imageKey().equals(currentImageKey)) {
            currentImageKey = null; // until the new image is in place: a failure must not leave the old key standing
            // not pre-encoded: the question comes with it, and ask encodes the image in one go with the prompt
            PreprocessedImage pre = session.setImage(c.image(), c.mode(), false).join();
            currentGeometry = pre.geometry();
            currentImageKey = c.imageKey();
        }
        CanvasGeometry geometry = currentGeometry;
        StopMatcher stops = new StopMatcher(c.stop());
        AnswerListener listener = new AnswerListener() {
            @Override
            public void onStage(Stage stage, double fraction) {
            }

            @Override
            public void onText(String delta) {
                String out = stops.add(delta);
                if (!out.isEmpty()) {
                    j.events.add(new Text(out));
                }
                if (stops.stopped()) {
                    TaskHandle<GenerationResult> h = j.handle;
                    if (h != null) {
                        h.cancel();
                    }
                }
            }
        };
        TaskHandle<GenerationResult> h = session.ask(new ChatRequest(c.turns(), c.systemPrompt(), c.generation()), listener);
        j.handle = h;
        if (j.cancelled) { // cancel() may have run before the handle was there
            h.cancel();
        }
        GenerationResult r;
        double sessionMs;
        try {
            r = h.join();
            sessionMs = (System.nanoTime() - t0) / 1e6;
        } catch (CancellationException e) {
            j.events.add(new Done(null, stops.answer(), stops.stopped() ? "stop" : "cancelled", geometry, (System.nanoTime() - t0) / 1e6));
            return;
        }
        if (!stops.stopped()) {
            String rest = stops.flush();
            if (!rest.isEmpty()) {
                j.events.add(new Text(rest));
            }
        }
        String finish;
        if (stops.stopped()) {
            finish = "stop";
        } else if (r.finishReason() == FinishReason.ERROR) {
            j.events.add(new Failed(new IllegalStateException(r.error())));
            return;
        } else {
            finish = switch (r.finishReason()) {
                case EOS -> "stop";
                case LENGTH -> "length";
                default -> "cancelled";
            };
        }
        j.events.add(new Done(r, stops.answer(), finish, geometry, sessionMs));
    }

    /** Stops the worker; waiting jobs end with "cancelled", the running one is cancelled. */
    @Override
    public void close() {
        List<Job> dropped;
        Job r;
        synchronized (lock) {
            closed = true;
            dropped = new ArrayList<>(waiting);
            waiting.clear();
            r = running;
            lock.notifyAll();
        }
        for (Job j : dropped) {
            j.cancelled = true;
            j.events.add(new Done(null, "", "cancelled", null, 0));
        }
        if (r != null) {
            r.cancel();
        }
    }
}
