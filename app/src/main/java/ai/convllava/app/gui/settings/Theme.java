package ai.convllava.app.gui.settings;

/** The two colour themes; each is one stylesheet of colour variables in ui-resources. */
public enum Theme {
    LIGHT("theme-light.css"), DARK("theme-dark.css");

    private final String stylesheet;

    Theme(String stylesheet) {
        this.stylesheet = stylesheet;
    }

    /** Resource path of the variables file. */
    public String stylesheet() {
        return "/ai/convllava/ui/css/" + stylesheet;
    }

    public Theme other() {
        return this == LIGHT ? DARK : LIGHT;
    }
}
