package ai.convllava.app.gui;

import javafx.application.Application;

import java.util.Locale;
import java.util.Map;

/**
 * Starts the desktop app. A plain class (not an Application subclass) so that JavaFX runs from the
 * class path of {@code convllava.jar} without a module path.
 */
public final class DesktopLauncher {
    /** What a user without a display reads: one line, the way forward, no stack trace. */
    public static final String NO_DISPLAY = "no display: use the `ask` command line, or run under a desktop session";

    private DesktopLauncher() {
    }

    /**
     * Main checks {@link #noDisplay} first.
     *
     * @param args an optional image file to open
     * @return the exit code: 0, or 1 when no window can be opened (display unreachable, no GTK)
     */
    public static int launch(String[] args) {
        try {
            Application.launch(ConvLlavaApp.class, args);
            return 0;
        } catch (UnsupportedOperationException | IllegalStateException e) {
            System.err.println(windowFailure(e.getMessage(), System.getenv("DISPLAY")));
            return 1;
        }
    }

    /**
     * The one line to print when there is certainly no display to open a window on (Linux and the other
     * X11/Wayland systems with neither {@code DISPLAY} nor {@code WAYLAND_DISPLAY} set), else null. Checked
     * before JavaFX starts, which would otherwise fail with its own warnings first.
     */
    public static String noDisplay(Map<String, String> env, String osName) {
        String os = osName.toLowerCase(Locale.ROOT);
        if (os.contains("win") || os.contains("mac")) {
            return null;
        }
        return blank(env.get("DISPLAY")) && blank(env.get("WAYLAND_DISPLAY")) ? NO_DISPLAY : null;
    }

    /** The one line for JavaFX's failure to open a window, with what to do about it. */
    static String windowFailure(String javafxMessage, String display) {
        String m = javafxMessage == null ? "" : javafxMessage;
        if (m.contains("Unable to open DISPLAY")) {
            return "no display: cannot connect to DISPLAY=" + display + "; use the `ask` command line, or run under a desktop session";
        }
        if (m.contains("GTK")) {
            return "cannot open the app window: the GTK 3 library is missing (" + m.strip()
                    + "); on Debian/Ubuntu: sudo apt install libgtk-3-0; the `ask` command line works without it";
        }
        return "cannot open the app window (" + m.strip() + "); the `ask` command line works without one: convllava ask --help";
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
