package ai.convllava.app.gui.heatmap;

import ai.convllava.app.gui.image.CanvasOverlay;
import ai.convllava.model.api.heatmap.CellMapping;
import ai.convllava.model.api.heatmap.ColorMap;
import ai.convllava.model.api.image.CanvasGeometry;
import javafx.beans.Observable;
import javafx.beans.value.ObservableDoubleValue;
import javafx.scene.Group;
import javafx.scene.paint.Color;
import javafx.scene.shape.Rectangle;

/**
 * The heatmap as the preview draws it: one rectangle per visual token at the cell's canvas pixels times
 * the zoom (exact whatever the image pipeline smooths), the cell asked about outlined, and a click on a
 * cell asks about it.
 */
public final class HeatmapOverlay implements CanvasOverlay {
    private final HeatmapViewModel vm;

    public HeatmapOverlay(HeatmapViewModel vm) {
        this.vm = vm;
    }

    @Override
    public void onChange(Runnable redraw) {
        for (Observable o : new Observable[] {vm.mapProperty(), vm.overlayVisibleProperty(), vm.selectedCellProperty()}) {
            o.addListener(x -> redraw.run());
        }
    }

    @Override
    public ObservableDoubleValue opacity() {
        return vm.opacityProperty();
    }

    @Override
    public boolean draw(Group under, Group over, CanvasGeometry g, double s) {
        float[] map = vm.mapProperty().get();
        if (map == null || !vm.overlayVisibleProperty().get() || map.length != g.tokenCount()) {
            return false;
        }
        CellMapping cells = new CellMapping(g);
        for (int i = 0; i < map.length; i++) {
            CellMapping.PixelRect r = cells.cellRect(i);
            Rectangle cell = new Rectangle(r.x() * s, r.y() * s, r.width() * s, r.height() * s);
            int rgb = ColorMap.rgb(map[i]);
            cell.setFill(Color.rgb(rgb >> 16 & 0xff, rgb >> 8 & 0xff, rgb & 0xff));
            under.getChildren().add(cell);
        }
        under.setAccessibleText("Attention heatmap, " + g.gridCols() + " x " + g.gridRows());
        int selected = vm.selectedCellProperty().get();
        if (selected >= 0) {
            CellMapping.PixelRect r = cells.cellRect(selected);
            Rectangle outline = new Rectangle(r.x() * s + 1.5, r.y() * s + 1.5, r.width() * s - 3, r.height() * s - 3);
            outline.getStyleClass().add("heatmap-cell");
            outline.setAccessibleText("Selected cell");
            over.getChildren().add(outline);
        }
        return true;
    }

    @Override
    public boolean takesClicks() {
        return vm.overlayVisibleProperty().get();
    }

    @Override
    public void clicked(double x, double y, CanvasGeometry g) {
        vm.selectCell(new CellMapping(g).tokenAt(x, y));
    }
}
