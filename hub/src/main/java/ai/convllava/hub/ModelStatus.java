package ai.convllava.hub;

import java.nio.file.Path;

/**
 * What the cache holds of one variant.
 *
 * @param modelSnapshot the complete-looking ConvLLaVA-sft snapshot folder, or null
 * @param towerSnapshot the complete-looking ConvLLaVA-ConvNeXt snapshot folder, or null
 * @param bytesOnDisk   everything in both repo folders (blobs, copied snapshot files, partial data)
 * @param partialBytes  of which {@code .incomplete} partial downloads (a download resumes them)
 */
public record ModelStatus(ModelVariant variant, State state, Path modelSnapshot, Path towerSnapshot, long bytesOnDisk, long partialBytes) {
    public enum State {
        /** Both repos have a complete snapshot: loadable. */
        INSTALLED,
        /** Something is there (one repo, partial files) but not a loadable model: download resumes it. */
        PARTIAL,
        NOT_INSTALLED
    }

    public boolean installed() {
        return state == State.INSTALLED;
    }
}
