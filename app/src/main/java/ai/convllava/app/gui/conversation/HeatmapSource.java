package ai.convllava.app.gui.conversation;

import ai.convllava.model.api.heatmap.AttentionMaps;
import ai.convllava.model.api.image.RgbImage;

/**
 * What one answer's heatmap needs: its maps and the canvas the model saw when it wrote it (the preview
 * may show another canvas later; exports always use this one).
 */
public record HeatmapSource(AttentionMaps maps, RgbImage canvas, String question) {
    public HeatmapSource {
        if (canvas.width() != maps.geometry().canvasWidth() || canvas.height() != maps.geometry().canvasHeight()) {
            throw new IllegalArgumentException("the canvas " + canvas.width() + " x " + canvas.height() + " is not the maps' "
                    + maps.geometry().canvasWidth() + " x " + maps.geometry().canvasHeight());
        }
    }
}
