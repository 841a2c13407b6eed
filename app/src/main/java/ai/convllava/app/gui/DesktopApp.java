package ai.convllava.app.gui;

import ai.convllava.app.gui.common.Debouncer;
import ai.convllava.app.gui.main.MainView;
import ai.convllava.app.gui.main.MainViewModel;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.settings.SettingsStore;
import ai.convllava.app.gui.store.ConversationStore;
import ai.convllava.hub.ModelManager;
import ai.convllava.model.api.VisionChatSession;
import javafx.application.Platform;
import javafx.geometry.Rectangle2D;
import javafx.scene.Scene;
import javafx.stage.Screen;
import javafx.stage.Stage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One running desktop app in a stage, and the one place its parts are made and wired: settings,
 * conversation store, one I/O thread (saving, decoding), a background pool (self-test, downloads),
 * the view-models and the main view; views get their collaborators from here and start no threads. {@link ConvLlavaApp} opens one; the UI tests open several in turn on the same
 * data folder.
 */
public final class DesktopApp {
    private static final Logger LOG = LoggerFactory.getLogger(DesktopApp.class);

    private final Stage stage;
    private final VisionChatSession service;
    private final AppSettings settings;
    private final SettingsStore settingsStore;
    private final ExecutorService io;
    private final ExecutorService background;
    private final MainViewModel viewModel;
    private final MainView view;
    private final Scene scene;
    private final Rectangle2D placement;

    private DesktopApp(Stage stage, VisionChatSession service, AppPaths paths) {
        this.stage = stage;
        this.service = service;
        this.settingsStore = new SettingsStore(paths.settingsFile());
        this.settings = settingsStore.load();
        this.io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "convllava-io");
            t.setDaemon(true);
            return t;
        });
        this.background = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "convllava-background");
            t.setDaemon(true);
            return t;
        });
        ConversationStore store = new ConversationStore(paths.conversationsDir(), paths.imagesDir());
        this.viewModel = new MainViewModel(service, settings, store, untilClosed(io), Platform::runLater, System::currentTimeMillis,
                Debouncer.Timer.fx(), untilClosed(background), ModelManager::fromEnvironment);
        this.view = new MainView(viewModel);
        this.placement = placement(settings, Screen.getPrimary().getVisualBounds());
        this.scene = new Scene(view.root(), placement.getWidth(), placement.getHeight());
        MainView.applyTheme(scene, settings.themeProperty().get());
        settings.themeProperty().addListener((o, a, t) -> MainView.applyTheme(scene, t));
        settingsStore.autoSave(settings, untilClosed(io));
    }

    /**
     * The executor, and after {@link #close} has stopped it, nothing: work still arriving then (the stopped
     * answer's end comes a moment after Stop, through the FX queue, and saves and loads from it) is left out
     * with a log line instead of a RejectedExecutionException on the FX thread. Close saved the conversation
     * already; an answer cut off there reads "interrupted" when the conversation is opened again.
     */
    private static Executor untilClosed(ExecutorService executor) {
        return task -> {
            try {
                executor.execute(task);
            } catch (RejectedExecutionException e) {
                LOG.debug("the app is closed: background work left out ({})", task);
            }
        };
    }

    /** Opens the app in {@code stage} (on the FX thread); {@code initialImage} may be null. */
    public static DesktopApp open(Stage stage, VisionChatSession service, AppPaths paths, Path initialImage) {
        DesktopApp app = new DesktopApp(stage, service, paths);
        app.show(initialImage);
        return app;
    }

    private void show(Path initialImage) {
        stage.setTitle("ConvLLaVA Desktop");
        stage.setScene(scene);
        stage.setMinWidth(AppSettings.MIN_WINDOW_WIDTH);
        stage.setMinHeight(AppSettings.MIN_WINDOW_HEIGHT);
        restoreWindow();
        view.setOnQuit(() -> {
            close();
            stage.close();
        });
        stage.setOnCloseRequest(e -> close());
        stage.show();
        view.chatView().questionArea().requestFocus();
        viewModel.start(initialImage);
    }

    /**
     * Where the window opens: where it was, when that is on a screen; else centred on the primary screen.
     * The first start (no size saved) takes 80% of the screen; a saved size larger than the screen it
     * goes on (the last run had a bigger monitor) shrinks to that screen.
     */
    static Rectangle2D placement(AppSettings s, Rectangle2D primary) {
        double x = s.windowXProperty().get();
        double y = s.windowYProperty().get();
        double w = s.windowWidthProperty().get();
        double h = s.windowHeightProperty().get();
        Rectangle2D screen = primary;
        if (!Double.isNaN(x) && !Double.isNaN(y) && !Double.isNaN(w) && !Double.isNaN(h)) {
            List<Screen> on = Screen.getScreensForRectangle(new Rectangle2D(x, y, Math.max(w, 1), Math.max(h, 1)));
            if (!on.isEmpty()) {
                screen = on.get(0).getVisualBounds();
            } else {
                x = Double.NaN;
            }
        }
        if (Double.isNaN(w) || Double.isNaN(h)) {
            w = screen.getWidth() * 0.8;
            h = screen.getHeight() * 0.8;
            x = Double.NaN;
        }
        w = Math.max(Math.min(w, screen.getWidth()), Math.min(AppSettings.MIN_WINDOW_WIDTH, screen.getWidth()));
        h = Math.max(Math.min(h, screen.getHeight()), Math.min(AppSettings.MIN_WINDOW_HEIGHT, screen.getHeight()));
        if (Double.isNaN(x) || Double.isNaN(y)) {
            x = screen.getMinX() + (screen.getWidth() - w) / 2;
            y = screen.getMinY() + (screen.getHeight() - h) / 2;
        } else {
            x = Math.max(screen.getMinX(), Math.min(x, screen.getMaxX() - w));
            y = Math.max(screen.getMinY(), Math.min(y, screen.getMaxY() - h));
        }
        return new Rectangle2D(x, y, w, h);
    }

    private void restoreWindow() {
        stage.setWidth(placement.getWidth());
        stage.setHeight(placement.getHeight());
        stage.setX(placement.getMinX());
        stage.setY(placement.getMinY());
        stage.setMaximized(settings.windowMaximizedProperty().get());
        stage.xProperty().addListener((o, a, b) -> {
            if (!stage.isMaximized()) {
                settings.windowXProperty().set(b.doubleValue());
            }
        });
        stage.yProperty().addListener((o, a, b) -> {
            if (!stage.isMaximized()) {
                settings.windowYProperty().set(b.doubleValue());
            }
        });
        stage.widthProperty().addListener((o, a, b) -> {
            if (!stage.isMaximized()) {
                settings.windowWidthProperty().set(b.doubleValue());
            }
        });
        stage.heightProperty().addListener((o, a, b) -> {
            if (!stage.isMaximized()) {
                settings.windowHeightProperty().set(b.doubleValue());
            }
        });
        stage.maximizedProperty().addListener((o, a, b) -> settings.windowMaximizedProperty().set(b));
    }

    private boolean closed;

    /** Saves the conversation and the settings, stops the I/O thread and closes the service. Idempotent. */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        viewModel.chat().stop();
        viewModel.chat().persist();
        io.shutdown();
        try {
            if (!io.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("saving did not finish within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            settingsStore.save(settings);
        } catch (IOException e) {
            LOG.warn("settings could not be saved: {}", e.getMessage());
        }
        viewModel.localServer().close();
        background.shutdownNow();
        service.close();
    }

    public MainViewModel viewModel() {
        return viewModel;
    }

    public MainView view() {
        return view;
    }

    public Scene scene() {
        return scene;
    }

    public Stage stage() {
        return stage;
    }

    public AppSettings settings() {
        return settings;
    }
}
