package ai.convllava.app.gui;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Where the app keeps its settings and its data (conversations, pasted images). Both are per user and
 * can be moved with a system property, which the tests use to point them at a temporary folder:
 * {@code -Dconvllava.config.dir=...} and {@code -Dconvllava.data.dir=...}.
 */
public record AppPaths(Path configDir, Path dataDir) {
    public static final String CONFIG_DIR_PROPERTY = "convllava.config.dir";
    public static final String DATA_DIR_PROPERTY = "convllava.data.dir";

    public Path settingsFile() {
        return configDir.resolve("settings.json");
    }

    public Path conversationsDir() {
        return dataDir.resolve("conversations");
    }

    public Path imagesDir() {
        return dataDir.resolve("images");
    }

    /** Both folders in one place (tests). */
    public static AppPaths under(Path root) {
        return new AppPaths(root.resolve("config"), root.resolve("data"));
    }

    /** The user's folders for this OS, unless overridden by the system properties. */
    public static AppPaths fromSystem() {
        String home = System.getProperty("user.home");
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        Path config;
        Path data;
        if (os.contains("win")) {
            String appData = System.getenv("APPDATA");
            Path base = appData != null ? Path.of(appData) : Path.of(home, "AppData", "Roaming");
            config = base.resolve("ConvLLaVA");
            data = base.resolve("ConvLLaVA");
        } else if (os.contains("mac")) {
            config = Path.of(home, "Library", "Application Support", "ConvLLaVA");
            data = config;
        } else {
            String xdgConfig = System.getenv("XDG_CONFIG_HOME");
            String xdgData = System.getenv("XDG_DATA_HOME");
            config = (xdgConfig != null && !xdgConfig.isBlank() ? Path.of(xdgConfig) : Path.of(home, ".config")).resolve("convllava");
            data = (xdgData != null && !xdgData.isBlank() ? Path.of(xdgData) : Path.of(home, ".local", "share")).resolve("convllava");
        }
        String c = System.getProperty(CONFIG_DIR_PROPERTY);
        String d = System.getProperty(DATA_DIR_PROPERTY);
        return new AppPaths(c != null && !c.isBlank() ? Path.of(c) : config, d != null && !d.isBlank() ? Path.of(d) : data);
    }
}
