package ai.convllava.app.gui.server;

import ai.convllava.app.gui.common.Errors;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ModelInfo;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.server.OpenAiServer;
import ai.convllava.server.ServerOptions;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Settings > Local server: the app serves its model to other tools with OpenAI's chat API on 127.0.0.1
 * ({@code convllava serve}'s server), while the setting is on and a model is loaded. The server has a
 * session of its own, with a second copy of the model: the app's session holds the image and the
 * conversation the user is working on, which a request from elsewhere must not replace. The second
 * copy is refused with the memory numbers when it does not fit, and the setting stays on to retry
 * after a smaller model or weights are chosen. Starting and stopping run on one thread of their own,
 * in order; the status line says what happened.
 */
public final class LocalServerViewModel implements AutoCloseable {
    /** What serves, replaceable in tests. */
    public interface Starter {
        Running start(LoadOptions model, int port) throws Exception;
    }

    /** A server that runs until closed. */
    public interface Running extends AutoCloseable {
        /** Where it listens, e.g. http://127.0.0.1:8080/v1. */
        String url();

        long requests();

        @Override
        void close();
    }

    /** The real one: a session of its own loaded with the same model, and the server on it. */
    public static final Starter REAL = (model, port) -> {
        VisionChatSession session = VisionChatSession.local();
        try {
            ModelInfo info = session.loadModel(model, ProgressListener.NONE).join();
            AtomicLong served = new AtomicLong();
            OpenAiServer server = OpenAiServer.start(session, ServerOptions.defaults().withPort(port), log -> served.incrementAndGet());
            return new Running() {
                @Override
                public String url() {
                    return server.baseUri() + " (" + info.name() + ")";
                }

                @Override
                public long requests() {
                    return served.get();
                }

                @Override
                public void close() {
                    try {
                        server.close();
                    } finally {
                        session.close();
                    }
                }
            };
        } catch (Exception | Error e) {
            session.close();
            throw e;
        }
    };

    private final AppSettings settings;
    private final ReadOnlyObjectProperty<ModelInfo> model;
    private final Executor ui;
    private final Starter starter;
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "convllava-local-server");
        t.setDaemon(true);
        return t;
    });
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper(this, "status", "off");
    private Running running; // on the worker thread only
    /**
     * Calls of {@link #apply} so far (counted on the UI thread): a worker's outcome is shown only if no later call came,
     * so an earlier call's "off" or "listening" does not land over the status a newer call already set.
     */
    private volatile int applies;

    /**
     * @param model the app's loaded model (null while none): the server serves the same
     */
    public LocalServerViewModel(AppSettings settings, ReadOnlyObjectProperty<ModelInfo> model, Executor ui, Starter starter) {
        this.settings = settings;
        this.model = model;
        this.ui = ui;
        this.starter = starter;
        settings.localServerProperty().addListener((o, was, on) -> apply());
        settings.localServerPortProperty().addListener((o, was, port) -> {
            if (settings.localServerProperty().get()) {
                apply();
            }
        });
        model.addListener((o, was, now) -> {
            if (settings.localServerProperty().get()) {
                apply();
            }
        });
    }

    /** Brings the server in line with the settings and the app's model: started, restarted or stopped. */
    public void apply() {
        int call = ++applies;
        boolean on = settings.localServerProperty().get();
        ModelInfo info = model.get();
        int port = settings.localServerPortProperty().get();
        LoadOptions load = on && info != null ? loadOptions(info) : null;
        if (on && info == null) {
            status.set("on: waits for a model to be loaded in the app");
        } else if (on) {
            status.set("starting: loading " + info.name() + " a second time, for the server…");
        }
        worker.execute(() -> {
            stopRunning();
            if (load == null) {
                if (!on) {
                    show(call, "off");
                }
                return;
            }
            String outcome;
            try {
                running = starter.start(load, port);
                outcome = "listening on " + running.url();
            } catch (Exception | Error e) {
                outcome = "not running: " + Errors.message(e);
            }
            show(call, outcome);
        });
    }

    /** The worker's outcome of apply call {@code call}, on the UI thread, unless a later call has come since. */
    private void show(int call, String outcome) {
        ui.execute(() -> {
            if (call == applies) {
                status.set(outcome);
            }
        });
    }

    /** The app's model as the server should load it: the same folder, tower, device and weight format. */
    private LoadOptions loadOptions(ModelInfo info) {
        String tower = settings.visionTowerDirProperty().get();
        return LoadOptions.of(info.folder()).withDevice(settings.deviceProperty().get()).withWeightFormat(info.weightFormat())
                .withTowerMemory(settings.towerMemoryProperty().get()).withVisionTower(tower.isBlank() ? null : Path.of(tower));
    }

    private void stopRunning() {
        if (running != null) {
            try {
                running.close();
            } finally {
                running = null;
            }
        }
    }

    /** Stops the server (the app is closing). */
    @Override
    public void close() {
        worker.execute(this::stopRunning);
        worker.shutdown();
        try {
            worker.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }
}
