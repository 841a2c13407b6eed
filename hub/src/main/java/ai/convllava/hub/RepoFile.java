package ai.convllava.hub;

import java.util.Locale;

/**
 * One file of a repository revision, as the Hub's model-info endpoint lists it.
 *
 * @param name      path inside the repo ({@code rfilename}), validated by {@link FileNames#check}
 * @param size      bytes
 * @param sha256    lowercase hex sha256 for LFS files, null for regular git files
 * @param gitBlobId git blob id ({@code blobId}) of a regular file, or null if the server gave none
 */
public record RepoFile(String name, long size, String sha256, String gitBlobId) {
    public RepoFile {
        FileNames.check(name);
        if (size < 0) {
            throw new DownloadException(DownloadException.Kind.SERVER, "the server lists " + name + " with a negative size " + size);
        }
        sha256 = sha256 == null ? null : sha256.toLowerCase(Locale.ROOT);
        if (sha256 != null && !sha256.matches("[0-9a-f]{64}")) {
            throw new DownloadException(DownloadException.Kind.SERVER, "the server lists " + name + " with a malformed sha256 " + sha256);
        }
        gitBlobId = gitBlobId == null ? null : gitBlobId.toLowerCase(Locale.ROOT);
        if (gitBlobId != null && !gitBlobId.matches("[0-9a-f]{40}")) {
            gitBlobId = null; // not the git hash we know how to check; size still is
        }
    }

    public boolean lfs() {
        return sha256 != null;
    }

    /**
     * The blob's name in {@code blobs/}: what huggingface_hub uses (the ETag), i.e. the sha256 of an
     * LFS file and the git blob id of a regular one; null when only the download can tell.
     */
    public String blobName() {
        return sha256 != null ? sha256 : gitBlobId;
    }
}
