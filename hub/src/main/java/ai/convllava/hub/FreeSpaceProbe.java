package ai.convllava.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Usable bytes on the file system holding a folder; injectable so tests can simulate a full disk. */
@FunctionalInterface
public interface FreeSpaceProbe {
    FreeSpaceProbe FILE_STORE = dir -> Files.getFileStore(dir).getUsableSpace();

    long usableBytes(Path dir) throws IOException;
}
