package ai.convllava.model.api.heatmap;

import ai.convllava.model.api.image.CanvasGeometry;

/**
 * Between visual tokens, grid cells and canvas pixels. Image token i is grid cell
 * (i / gridCols, i % gridCols), row-major; cell (r, c) covers canvas pixels
 * [c * cellSize, (c + 1) * cellSize) x [r * cellSize, (r + 1) * cellSize) (64 at 1536: 24 x 24 cells).
 */
public final class CellMapping {
    private final CanvasGeometry g;

    public CellMapping(CanvasGeometry geometry) {
        this.g = geometry;
    }

    /** A rectangle of canvas pixels: [x, x + width) x [y, y + height). */
    public record PixelRect(int x, int y, int width, int height) {
        public boolean contains(int px, int py) {
            return px >= x && px < x + width && py >= y && py < y + height;
        }
    }

    public CanvasGeometry geometry() {
        return g;
    }

    public int rows() {
        return g.gridRows();
    }

    public int cols() {
        return g.gridCols();
    }

    public int tokenCount() {
        return g.tokenCount();
    }

    public int row(int token) {
        check(token);
        return token / g.gridCols();
    }

    public int col(int token) {
        check(token);
        return token % g.gridCols();
    }

    public int token(int row, int col) {
        if (row < 0 || row >= g.gridRows() || col < 0 || col >= g.gridCols()) {
            throw new IndexOutOfBoundsException("cell (" + row + ", " + col + ") is outside the " + g.gridRows() + " x " + g.gridCols() + " grid");
        }
        return row * g.gridCols() + col;
    }

    /** The canvas pixels of cell (row, col). */
    public PixelRect cellRect(int row, int col) {
        token(row, col);
        int s = g.cellSize();
        return new PixelRect(col * s, row * s, s, s);
    }

    public PixelRect cellRect(int token) {
        return cellRect(row(token), col(token));
    }

    /** The image token whose cell holds canvas pixel (x, y), or -1 off the canvas. */
    public int tokenAt(double x, double y) {
        if (!(x >= 0 && y >= 0 && x < g.canvasWidth() && y < g.canvasHeight())) {
            return -1;
        }
        return token((int) (y / g.cellSize()), (int) (x / g.cellSize()));
    }

    /** How much of the token's cell is the image (1) rather than padding (0). */
    public double imageFraction(int token) {
        PixelRect r = cellRect(token);
        int w = Math.max(0, Math.min(r.x() + r.width(), g.imageX() + g.imageWidth()) - Math.max(r.x(), g.imageX()));
        int h = Math.max(0, Math.min(r.y() + r.height(), g.imageY() + g.imageHeight()) - Math.max(r.y(), g.imageY()));
        return (double) w * h / ((double) r.width() * r.height());
    }

    private void check(int token) {
        if (token < 0 || token >= g.tokenCount()) {
            throw new IndexOutOfBoundsException("image token " + token + " is outside [0, " + g.tokenCount() + ")");
        }
    }
}
