package ai.convllava.hub;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How a download ended.
 *
 * @param modelSnapshot   the ConvLLaVA-sft snapshot folder to load (null unless COMPLETED)
 * @param towerSnapshot   the ConvLLaVA-ConvNeXt snapshot folder (null unless COMPLETED or the variant has no tower)
 * @param bytesDownloaded bytes received over the network in this run
 * @param bytesReused     bytes already in the cache (complete blobs, snapshot files, and resumed partial data)
 * @param error           why it failed (kind + user message); null unless FAILED
 */
public record DownloadResult(ModelVariant variant, Status status, Path modelSnapshot, Path towerSnapshot, long bytesDownloaded,
                             long bytesReused, Duration elapsed, DownloadException error) {
    public enum Status {
        COMPLETED,
        CANCELLED,
        FAILED
    }

    public boolean completed() {
        return status == Status.COMPLETED;
    }
}
