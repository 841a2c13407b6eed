package ai.convllava.app.gui.common;

import javafx.fxml.FXMLLoader;
import javafx.scene.Parent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;

/** Loads a view's FXML from the ui-resources jar with the view object as its controller. */
public final class Fxml {
    public static final String BASE = "/ai/convllava/ui/fxml/";

    private Fxml() {
    }

    public static Parent load(String name, Object controller) {
        URL url = Fxml.class.getResource(BASE + name);
        if (url == null) {
            throw new IllegalStateException("missing FXML resource " + BASE + name + " (is convllava-ui-resources on the class path?)");
        }
        FXMLLoader loader = new FXMLLoader(url);
        loader.setController(controller);
        try {
            return loader.load();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load " + name + ": " + e.getMessage(), e);
        }
    }
}
