package ai.convllava.app.gui.image;

import ai.convllava.model.api.image.RgbImage;
import javafx.scene.image.Image;
import javafx.scene.image.PixelFormat;
import javafx.scene.image.PixelReader;
import javafx.scene.image.WritableImage;

/** Between the engine's {@link RgbImage} and JavaFX images (no Swing needed). */
public final class FxImages {
    private FxImages() {
    }

    public static WritableImage toFx(RgbImage rgb) {
        WritableImage img = new WritableImage(rgb.width(), rgb.height());
        img.getPixelWriter().setPixels(0, 0, rgb.width(), rgb.height(), PixelFormat.getByteRgbInstance(), rgb.rgb(), 0, rgb.width() * 3);
        return img;
    }

    /** Pixels of a JavaFX image, alpha composited over white (as ImageDecoder does for PNG alpha). */
    public static RgbImage fromFx(Image image) {
        int w = (int) image.getWidth();
        int h = (int) image.getHeight();
        PixelReader r = image.getPixelReader();
        if (w <= 0 || h <= 0 || r == null) {
            throw new IllegalArgumentException("the image has no readable pixels");
        }
        int[] argb = new int[w * h];
        r.getPixels(0, 0, w, h, PixelFormat.getIntArgbInstance(), argb, 0, w);
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < argb.length; i++) {
            int p = argb[i];
            int a = p >>> 24;
            int cr = p >> 16 & 0xff;
            int cg = p >> 8 & 0xff;
            int cb = p & 0xff;
            if (a != 255) {
                cr = (cr * a + 255 * (255 - a) + 127) / 255;
                cg = (cg * a + 255 * (255 - a) + 127) / 255;
                cb = (cb * a + 255 * (255 - a) + 127) / 255;
            }
            rgb[i * 3] = (byte) cr;
            rgb[i * 3 + 1] = (byte) cg;
            rgb[i * 3 + 2] = (byte) cb;
        }
        return new RgbImage(w, h, rgb);
    }
}
