package ai.convllava.app;

import ai.convllava.app.cli.ConvLlavaCli;
import ai.convllava.app.gui.DesktopLauncher;

import java.util.Set;

/**
 * Entry point of {@code convllava.jar}: with a subcommand (ask, ...) or an option it runs the command
 * line; with no arguments, or an image file, it starts the desktop app.
 */
public final class Main {
    /** First arguments that mean the command line, not the app. */
    static final Set<String> CLI_WORDS = Set.of("ask", "bench", "models", "help", "-h", "--help", "-V", "--version");

    private Main() {
    }

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        if (isGui(args)) {
            int code = DesktopLauncher.launch(args);
            if (code != 0) {
                System.exit(code);
            }
            return;
        }
        System.exit(ConvLlavaCli.run(args));
    }

    /** No arguments, or a first argument that is not a subcommand or an option (an image to open). */
    static boolean isGui(String[] args) {
        return args.length == 0 || !(CLI_WORDS.contains(args[0]) || args[0].startsWith("-"));
    }
}
