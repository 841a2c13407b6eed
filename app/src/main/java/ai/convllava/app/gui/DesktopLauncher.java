package ai.convllava.app.gui;

import javafx.application.Application;

/**
 * Starts the desktop app. A plain class (not an Application subclass) so that JavaFX runs from the
 * class path of {@code convllava.jar} without a module path.
 */
public final class DesktopLauncher {
    private DesktopLauncher() {
    }

    /**
     * @param args an optional image file to open
     * @return the exit code: 0, or 1 when no window can be opened (no display)
     */
    public static int launch(String[] args) {
        try {
            Application.launch(ConvLlavaApp.class, args);
            return 0;
        } catch (UnsupportedOperationException | IllegalStateException e) {
            System.err.println("error: cannot open the app window (" + e.getMessage() + "); the command line works without one: convllava ask --help");
            return 1;
        }
    }
}
