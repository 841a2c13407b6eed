package ai.convllava.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A repository at one commit: {@code GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true}
 * answers {@code sha} and {@code siblings[]{rfilename, size, blobId, lfs{sha256, size}}}.
 */
public record RepoInfo(String repo, String commit, List<RepoFile> files) {
    public RepoInfo {
        files = List.copyOf(files);
    }

    public long totalBytes() {
        return files.stream().mapToLong(RepoFile::size).sum();
    }

    /** Parses and validates the JSON; any hostile file name rejects the whole listing. */
    static RepoInfo parse(String repo, byte[] json) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new DownloadException(DownloadException.Kind.SERVER, "the model info for " + repo + " is not valid JSON: " + e.getMessage());
        }
        String sha = root.path("sha").asText("");
        if (!sha.matches("[0-9a-f]{40}|[0-9a-f]{64}")) {
            throw new DownloadException(DownloadException.Kind.SERVER, "the model info for " + repo
                    + " has no valid commit hash (sha=" + abbreviate(sha) + ")");
        }
        JsonNode siblings = root.path("siblings");
        if (!siblings.isArray()) {
            throw new DownloadException(DownloadException.Kind.SERVER, "the model info for " + repo + " lists no files (siblings)");
        }
        List<RepoFile> files = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (JsonNode s : siblings) {
            String name = s.path("rfilename").asText(null);
            if (name == null) {
                throw new DownloadException(DownloadException.Kind.SERVER, "the model info for " + repo + " has a file without rfilename");
            }
            FileNames.check(name);
            if (!seen.add(name.toLowerCase(Locale.ROOT))) {
                throw new DownloadException(DownloadException.Kind.BAD_FILE_NAME, "the model info for " + repo + " lists "
                        + FileNames.quote(name) + " twice (names differing only in case collide on Windows and macOS)");
            }
            JsonNode lfs = s.path("lfs");
            String sha256 = lfs.isObject() ? lfs.path("sha256").asText(null) : null;
            long size = lfs.isObject() && lfs.has("size") ? lfs.path("size").asLong(-1) : s.path("size").asLong(-1);
            if (size < 0) {
                throw new DownloadException(DownloadException.Kind.SERVER, "the model info for " + repo + " gives no size for "
                        + name + ": the endpoint must support ?blobs=true");
            }
            files.add(new RepoFile(name, size, sha256, s.path("blobId").asText(null)));
        }
        return new RepoInfo(repo, sha, files);
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
