package ai.convllava.app;

import ai.convllava.app.cli.ConvLlavaCli;

/**
 * Entry point of {@code convllava.jar}: with a subcommand (ask, ...) it runs the command line; with
 * no arguments, or an image file, it starts the desktop app.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", System.getProperty("ai.djl.offline", "true"));
        System.exit(ConvLlavaCli.run(args));
    }
}
