package ai.convllava.hub;

/**
 * How snapshot files point at their blobs. huggingface_hub makes relative symlinks
 * ({@code snapshots/<rev>/f -> ../../blobs/<hash>}) and, where symlinks are not allowed (Windows
 * without developer mode), puts the file itself in the snapshot folder.
 */
public enum LinkMode {
    /** Symlinks where the file system allows them (probed once per cache), else COPY. */
    AUTO,
    /** Relative symlinks, as huggingface_hub makes them. */
    SYMLINK,
    /** The verified blob is moved into the snapshot (copied when several files share it); no blob is kept. */
    COPY
}
