package ai.convllava.bench;

/**
 * Extrapolation of a truncated-LLM run to the full depth. A quantity {@code q} that grows with the
 * number of decoder layers is {@code q(L) = fixed + L * perLayer} (embedding, final norm, lm_head and
 * sampling are the fixed part). Measuring it on the {@code n}-layer model and on a one-layer model
 * gives {@code perLayer = (q(n) - q(1)) / (n - 1)} and {@code q(full) = q(n) + (full - n) * perLayer}, with a
 * negative perLayer (noise) taken as 0.
 */
public final class Scaling {
    private Scaling() {
    }

    /** q at {@code full} layers from q at {@code n} and at 1 layer; q(n) itself when n == full. */
    public static double extrapolate(double atN, double atOne, int n, int full) {
        if (n == full) {
            return atN;
        }
        if (n < 2 || n > full) {
            throw new IllegalArgumentException("extrapolation needs 2 <= layers <= " + full + " (got " + n + ")");
        }
        // a layer cannot take less than nothing: a smaller figure with more layers is noise, and the
        // n-layer figure is then the best estimate (multiplying the noise by (full - n) / (n - 1) gave
        // TTFTs near zero and negative decode times)
        double perLayer = Math.max(0, (atN - atOne) / (n - 1));
        return atN + (full - n) * perLayer;
    }

    /** Per-layer share of q: {@code (q(n) - q(1)) / (n - 1)}. */
    public static double perLayer(double atN, double atOne, int n) {
        if (n < 2) {
            throw new IllegalArgumentException("the per-layer cost needs at least 2 layers (got " + n + ")");
        }
        return (atN - atOne) / (n - 1);
    }

    /** A rate (tokens/s) extrapolated through its time per token. */
    public static double extrapolateRate(double rateAtN, double rateAtOne, int n, int full) {
        if (n == full) {
            return rateAtN;
        }
        if (!(rateAtN > 0) || !(rateAtOne > 0)) {
            return 0;
        }
        double ms = extrapolate(1000 / rateAtN, 1000 / rateAtOne, n, full);
        return ms > 0 ? 1000 / ms : 0;
    }

    /** Memory of the full model: the measured peak plus the weights of the layers not loaded. */
    public static long extrapolateBytes(long measured, long bytesPerLayer, int n, int full) {
        return measured + (long) (full - n) * bytesPerLayer;
    }
}
