package ai.convllava.app.gui;

import ai.convllava.model.api.VisionChatSession;
import javafx.application.Application;
import javafx.stage.Stage;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The JavaFX application (started by {@link DesktopLauncher}, which does not extend Application). */
public final class ConvLlavaApp extends Application {
    private DesktopApp app;

    @Override
    public void start(Stage stage) {
        List<String> args = getParameters().getRaw();
        Path image = null;
        if (!args.isEmpty()) {
            Path p = Path.of(args.get(0));
            image = Files.exists(p) ? p.toAbsolutePath() : p;
        }
        app = DesktopApp.open(stage, VisionChatSession.local(), AppPaths.fromSystem(), image);
        // the installer's CI check and the README's cold-start figure wait for this line
        LoggerFactory.getLogger(ConvLlavaApp.class).info("main window shown {} ms after JVM start",
                ManagementFactory.getRuntimeMXBean().getUptime());
    }

    @Override
    public void stop() {
        if (app != null) {
            app.close();
        }
    }
}
