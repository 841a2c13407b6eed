package ai.convllava.app.gui.heatmap;

import ai.convllava.app.gui.conversation.HeatmapSource;
import ai.convllava.model.api.heatmap.CellMapping;
import ai.convllava.model.api.heatmap.ColorMap;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.RgbImage;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.Area;
import java.awt.geom.Line2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * The exported overlay, drawn off the FX thread with Java2D: the canvas the model saw (scaled up to at
 * least {@link #MIN_SIDE} px so small canvases stay legible, nearest neighbour), the heatmap per grid
 * cell at the chosen opacity, the padding hatched, the selected cell outlined, and under it a band with
 * the legend (0 .. the scale's top) and the caption (the token's text and how the map was made).
 */
public final class HeatmapPng {
    public static final int MIN_SIDE = 512;
    public static final int BAND = 64;

    private HeatmapPng() {
    }

    /** Canvas pixels per exported pixel side. */
    public static int scaleFor(CanvasGeometry g) {
        return Math.max(1, (int) Math.ceil((double) MIN_SIDE / Math.max(g.canvasWidth(), g.canvasHeight())));
    }

    /** Width and height of the PNG for this canvas. */
    public static int[] size(CanvasGeometry g) {
        int s = scaleFor(g);
        return new int[] {g.canvasWidth() * s, g.canvasHeight() * s + BAND};
    }

    /**
     * @param map     per image token in [0, 1] (the overlay's values)
     * @param cell    the selected image token to outline, or -1
     */
    public static BufferedImage render(HeatmapSource src, float[] map, double opacity, String caption, String scaleTop, int cell) {
        CanvasGeometry g = src.maps().geometry();
        CellMapping cm = src.maps().mapping();
        int s = scaleFor(g);
        int w = g.canvasWidth() * s;
        int h = g.canvasHeight() * s;
        BufferedImage img = new BufferedImage(w, h + BAND, BufferedImage.TYPE_INT_RGB);
        RgbImage c = src.canvas();
        byte[] rgb = c.rgb();
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            int cy = y / s;
            for (int x = 0; x < w; x++) {
                int cx = x / s;
                int i = (cy * c.width() + cx) * 3;
                int r = rgb[i] & 0xff;
                int gr = rgb[i + 1] & 0xff;
                int b = rgb[i + 2] & 0xff;
                if (map != null && opacity > 0) {
                    int heat = ColorMap.rgb(map[cm.tokenAt(cx, cy)]);
                    r = blend(r, heat >> 16 & 0xff, opacity);
                    gr = blend(gr, heat >> 8 & 0xff, opacity);
                    b = blend(b, heat & 0xff, opacity);
                }
                row[x] = r << 16 | gr << 8 | b;
            }
            img.setRGB(0, y, w, 1, row, 0, w);
        }
        Graphics2D g2 = img.createGraphics();
        try {
            g2.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g2.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            hatchPadding(g2, g, s);
            g2.setColor(new Color(255, 255, 255, 70));
            g2.setStroke(new BasicStroke(1f));
            for (int col = 1; col < g.gridCols(); col++) {
                g2.draw(new Line2D.Double(col * g.cellSize() * s, 0, col * g.cellSize() * s, h));
            }
            for (int r = 1; r < g.gridRows(); r++) {
                g2.draw(new Line2D.Double(0, r * g.cellSize() * s, w, r * g.cellSize() * s));
            }
            if (cell >= 0 && cell < g.tokenCount()) {
                CellMapping.PixelRect pr = cm.cellRect(cell);
                g2.setColor(Color.WHITE);
                g2.setStroke(new BasicStroke(3f));
                g2.drawRect(pr.x() * s + 1, pr.y() * s + 1, pr.width() * s - 3, pr.height() * s - 3);
            }
            band(g2, w, h, caption, scaleTop);
        } finally {
            g2.dispose();
        }
        return img;
    }

    private static int blend(int base, int over, double a) {
        return (int) Math.round(base * (1 - a) + over * a);
    }

    private static void hatchPadding(Graphics2D g2, CanvasGeometry g, int s) {
        int w = g.canvasWidth() * s;
        int h = g.canvasHeight() * s;
        Area pad = new Area(new Rectangle(0, 0, w, h));
        pad.subtract(new Area(new Rectangle(g.imageX() * s, g.imageY() * s, g.imageWidth() * s, g.imageHeight() * s)));
        if (pad.isEmpty()) {
            return;
        }
        Shape old = g2.getClip();
        g2.setClip(pad);
        g2.setColor(new Color(0, 0, 0, 60));
        g2.fill(pad);
        g2.setColor(new Color(255, 255, 255, 110));
        g2.setStroke(new BasicStroke(1f));
        for (int t = -h; t < w; t += 10) {
            g2.draw(new Line2D.Double(t, h, t + h, 0));
        }
        g2.setClip(old);
        g2.setColor(new Color(255, 154, 77));
        g2.setStroke(new BasicStroke(2f));
        g2.drawRect(g.imageX() * s, g.imageY() * s, g.imageWidth() * s - 1, g.imageHeight() * s - 1);
    }

    private static void band(Graphics2D g2, int w, int h, String caption, String scaleTop) {
        g2.setColor(Color.WHITE);
        g2.fillRect(0, h, w, BAND);
        g2.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        FontMetrics fm = g2.getFontMetrics();
        int pad = 8;
        int barW = Math.min(200, w / 3);
        int barY = h + pad + 4;
        int barX = pad + fm.stringWidth("0") + 6;
        for (int x = 0; x < barW; x++) {
            g2.setColor(new Color(ColorMap.rgb(x / (double) (barW - 1))));
            g2.fillRect(barX + x, barY, 1, 14);
        }
        g2.setColor(new Color(0x59636e));
        g2.drawRect(barX, barY, barW - 1, 13);
        g2.setColor(new Color(0x1f2328));
        int textY = barY + 12;
        g2.drawString("0", pad, textY);
        g2.drawString(scaleTop == null ? "" : scaleTop + "  attention", barX + barW + 6, textY);
        g2.drawString(fit(caption == null ? "" : caption, fm, w - 2 * pad), pad, h + BAND - pad - 6);
    }

    private static String fit(String s, FontMetrics fm, int width) {
        if (fm.stringWidth(s) <= width) {
            return s;
        }
        String t = s;
        while (!t.isEmpty() && fm.stringWidth(t + "\u2026") > width) {
            t = t.substring(0, t.length() - 1);
        }
        return t + "\u2026";
    }

    public static void write(BufferedImage img, Path file) throws IOException {
        if (!ImageIO.write(img, "png", file.toFile())) {
            throw new IOException("no PNG writer");
        }
    }
}
