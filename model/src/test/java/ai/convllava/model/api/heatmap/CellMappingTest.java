package ai.convllava.model.api.heatmap;

import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImagePreprocessor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Image token -> grid cell -> canvas pixels, at 1536 (24 x 24 cells of 64 px) and in native mode. */
class CellMappingTest {
    /** A 1536 x 1024 photo padded to the 1536 canvas: 24 x 24 tokens, the image in rows 4..19. */
    static final CanvasGeometry PAD_1536 = new CanvasGeometry(1536, 1536, 0, 256, 1536, 1024, 24, 24, 64);

    @Test
    void cellRCoversItsSixtyFourPixelSquareAt1536() {
        CellMapping m = new CellMapping(PAD_1536);
        for (int r = 0; r < 24; r++) {
            for (int c = 0; c < 24; c++) {
                int token = r * 24 + c;
                assertEquals(token, m.token(r, c));
                assertEquals(r, m.row(token));
                assertEquals(c, m.col(token));
                CellMapping.PixelRect rect = m.cellRect(r, c);
                assertEquals(new CellMapping.PixelRect(c * 64, r * 64, 64, 64), rect);
                // every pixel of [c*64, (c+1)*64) x [r*64, (r+1)*64) maps back to this token, and the next one does not
                assertEquals(token, m.tokenAt(c * 64, r * 64));
                assertEquals(token, m.tokenAt(c * 64 + 63.99, r * 64 + 63.99));
                if (c < 23) {
                    assertEquals(token + 1, m.tokenAt((c + 1) * 64, r * 64));
                }
                if (r < 23) {
                    assertEquals(token + 24, m.tokenAt(c * 64, (r + 1) * 64));
                }
            }
        }
        assertEquals(-1, m.tokenAt(1536, 0));
        assertEquals(-1, m.tokenAt(-0.5, 10));
        assertThrows(IndexOutOfBoundsException.class, () -> m.cellRect(24, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.row(576));
    }

    @Test
    void paddingCellsAreTold() {
        CellMapping m = new CellMapping(PAD_1536);
        assertEquals(0.0, m.imageFraction(m.token(0, 0)));
        assertEquals(0.0, m.imageFraction(m.token(3, 5)));
        assertEquals(1.0, m.imageFraction(m.token(4, 5)));
        assertEquals(1.0, m.imageFraction(m.token(19, 23)));
        assertEquals(0.0, m.imageFraction(m.token(20, 0)));
        // the tiny model's 256 canvas: wide.png (300 x 200) pads to 256 x 170 at y = 43
        CanvasGeometry tiny = ImagePreprocessor.clip(256).geometry(300, 200, CanvasMode.PAD);
        CellMapping t = new CellMapping(tiny);
        assertEquals(4, t.rows());
        assertEquals((64 - tiny.imageY()) / 64.0, t.imageFraction(0), 1e-12);
    }

    @Test
    void nativeModeUsesRowsByColsAndTheCellSize() {
        CanvasGeometry g = ImagePreprocessor.clip(256).geometry(300, 200, CanvasMode.NATIVE);
        assertEquals(4, g.gridRows());
        assertEquals(6, g.gridCols());
        CellMapping m = new CellMapping(g);
        assertEquals(new CellMapping.PixelRect(5 * g.cellSize(), 3 * g.cellSize(), g.cellSize(), g.cellSize()), m.cellRect(23));
        assertEquals(7, m.tokenAt(g.cellSize() * 1.5, g.cellSize() * 1.2));
        assertEquals(1.0, m.imageFraction(0));
    }
}
