package ai.convllava.app.about;

/** The app's name and version, for the command line's --version and the self-test. */
public final class About {
    public static final String VERSION = "ConvLLaVA Desktop 0.1.0";

    private About() {
    }
}
