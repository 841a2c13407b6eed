package ai.convllava.app.gui;

import javafx.application.Application;

/**
 * Starts the desktop app. A plain class (not an Application subclass) so that JavaFX runs from the
 * class path of {@code convllava.jar} without a module path.
 */
public final class DesktopLauncher {
    private DesktopLauncher() {
    }

    /** @param args an optional image file to open */
    public static void launch(String[] args) {
        Application.launch(ConvLlavaApp.class, args);
    }
}
