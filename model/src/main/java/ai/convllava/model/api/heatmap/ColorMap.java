package ai.convllava.model.api.heatmap;

/**
 * Viridis (matplotlib's default: perceptually uniform, readable in greyscale and by colour-blind
 * readers) as a 256-entry table, interpolated from nine of its stops. Pure Java: the preview, the
 * legend and the PNG export use the same colours.
 */
public final class ColorMap {
    private static final int[] STOPS = {
        0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e, 0x1f9e89, 0x35b779, 0x6ece58, 0xfde725,
    };
    private static final int[] LUT = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            double t = i / 255.0 * (STOPS.length - 1);
            int k = Math.min(STOPS.length - 2, (int) t);
            double f = t - k;
            int a = STOPS[k];
            int b = STOPS[k + 1];
            int r = (int) Math.round((a >> 16 & 0xff) * (1 - f) + (b >> 16 & 0xff) * f);
            int gr = (int) Math.round((a >> 8 & 0xff) * (1 - f) + (b >> 8 & 0xff) * f);
            int bl = (int) Math.round((a & 0xff) * (1 - f) + (b & 0xff) * f);
            LUT[i] = r << 16 | gr << 8 | bl;
        }
    }

    private ColorMap() {
    }

    /** 0xRRGGBB for v in [0, 1] (clamped; NaN is 0). */
    public static int rgb(double v) {
        if (!(v > 0)) {
            return LUT[0];
        }
        return LUT[(int) Math.round(Math.min(1, v) * 255)];
    }

    /** 0xAARRGGBB with the given alpha in [0, 1]. */
    public static int argb(double v, double alpha) {
        int a = (int) Math.round(Math.max(0, Math.min(1, alpha)) * 255);
        return a << 24 | rgb(v);
    }
}
