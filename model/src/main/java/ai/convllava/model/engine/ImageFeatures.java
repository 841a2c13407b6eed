package ai.convllava.model.engine;

import ai.convllava.model.api.image.CanvasGeometry;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * An encoded image: the projected visual tokens (1, N, hidden) ready to splice into the prompt,
 * kept on the model's device in their own manager. Opaque to the app (no DJL types leak out).
 */
public final class ImageFeatures implements AutoCloseable {
    private final NDManager manager;
    private final NDArray projected;
    private final CanvasGeometry geometry;
    private final String key;
    private final double towerMs;
    private final double projectorMs;
    private volatile boolean closed;

    ImageFeatures(NDManager manager, NDArray projected, CanvasGeometry geometry, String key, double towerMs, double projectorMs) {
        this.manager = manager;
        this.projected = projected;
        this.geometry = geometry;
        this.key = key;
        this.towerMs = towerMs;
        this.projectorMs = projectorMs;
    }

    /** Time the vision tower took to encode the image (ms). */
    public double towerMs() {
        return towerMs;
    }

    /** Time the projector took on the tower's output (ms). */
    public double projectorMs() {
        return projectorMs;
    }

    NDArray projected() {
        if (closed) {
            throw new IllegalStateException("image features were released");
        }
        return projected;
    }

    /** Number of visual tokens (rows x cols of the token grid). */
    public int tokens() {
        return (int) projected.getShape().get(1);
    }

    public CanvasGeometry geometry() {
        return geometry;
    }

    /** Identity of the image for cache reuse (content hash + mode + model), or a unique id. */
    public String key() {
        return key;
    }

    /** The projected features as floats, row-major (N x hidden); for tests and export. */
    public float[] toFloatArray() {
        return projected().toFloatArray();
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            manager.close();
        }
    }
}
