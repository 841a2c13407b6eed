package ai.convllava.app.gui.image;

import ai.convllava.model.api.image.CanvasGeometry;
import javafx.beans.value.ObservableDoubleValue;
import javafx.scene.Group;

/**
 * Something the preview draws over the model canvas, in canvas pixels times the zoom (the attention
 * heatmap): the preview redraws it when it changes and passes it the clicks on the canvas. The preview
 * knows nothing else about it.
 */
public interface CanvasOverlay {
    /** Calls {@code redraw} whenever the overlay must be drawn again. */
    void onChange(Runnable redraw);

    /** The opacity of what is drawn under the token grid. */
    ObservableDoubleValue opacity();

    /**
     * Draws for canvas {@code g} at zoom {@code scale}: under the token grid into {@code under}, over it
     * into {@code over}.
     *
     * @return whether anything was drawn under the grid
     */
    boolean draw(Group under, Group over, CanvasGeometry g, double scale);

    /** Whether clicks on the canvas go to the overlay now. */
    boolean takesClicks();

    /** A click at canvas pixel (x, y) of canvas {@code g}. */
    void clicked(double x, double y, CanvasGeometry g);
}
