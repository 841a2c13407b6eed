package ai.convllava.hub;

import java.nio.file.Path;
import java.util.List;

/** What {@code remove} deleted: snapshot folders, blobs only they used, partial files, and the bytes freed. */
public record RemoveReport(ModelVariant variant, List<Path> deleted, long bytesFreed) {
    public RemoveReport {
        deleted = List.copyOf(deleted);
    }
}
