package ai.convllava.model.api.image;

/**
 * Where an image lands on the encoder's canvas and the visual-token grid that canvas yields.
 * All numbers are canvas pixels. In {@link CanvasMode#PAD} the image region is the scaled paste region
 * (the rest is mean-colour padding); in {@link CanvasMode#NATIVE} it is the whole canvas.
 *
 * @param cellSize canvas pixels per visual token along each side (the encoder's total stride, 64)
 */
public record CanvasGeometry(int canvasWidth, int canvasHeight, int imageX, int imageY, int imageWidth,
                             int imageHeight, int gridRows, int gridCols, int cellSize) {

    public CanvasGeometry {
        if (canvasWidth <= 0 || canvasHeight <= 0 || cellSize <= 0) {
            throw new IllegalArgumentException("canvas and cell sizes must be positive (got canvas="
                    + canvasWidth + " x " + canvasHeight + ", cellSize=" + cellSize + ")");
        }
        if (gridCols * cellSize != canvasWidth || gridRows * cellSize != canvasHeight) {
            throw new IllegalArgumentException("the token grid must tile the canvas (got canvas=" + canvasWidth
                    + " x " + canvasHeight + ", grid=" + gridCols + " x " + gridRows + ", cellSize=" + cellSize + ")");
        }
        if (imageX < 0 || imageY < 0 || imageWidth <= 0 || imageHeight <= 0
                || imageX + imageWidth > canvasWidth || imageY + imageHeight > canvasHeight) {
            throw new IllegalArgumentException("the image region must lie on the canvas (got x=" + imageX + ", y="
                    + imageY + ", " + imageWidth + " x " + imageHeight + " on " + canvasWidth + " x " + canvasHeight + ")");
        }
    }

    /** Visual tokens the encoder produces for this canvas: one per grid cell. */
    public int tokenCount() {
        return gridRows * gridCols;
    }

    /** For the UI, e.g. "1536 x 1536 canvas - 24 x 24 = 576 visual tokens - image occupies 1536 x 1024". */
    public String describe() {
        return canvasWidth + " x " + canvasHeight + " canvas - " + gridCols + " x " + gridRows + " = "
                + tokenCount() + " visual tokens - image occupies " + imageWidth + " x " + imageHeight;
    }
}
