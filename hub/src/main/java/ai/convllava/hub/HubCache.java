package ai.convllava.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The Hugging Face hub cache layout, shared with huggingface_hub:
 * <pre>
 * {root}/models--Org--Name/blobs/{sha256 or git blob id}          the verified files
 *                         /blobs/{name}.incomplete               partial downloads (resumable)
 *                         /snapshots/{commit}/{file}              relative symlinks ../../blobs/{name} (or the files)
 *                         /refs/main                              the commit, written last
 * </pre>
 * A snapshot is only created once every file is verified, and atomically (built beside, then
 * renamed) when it does not exist yet, so the loader never sees a half-made model.
 */
public final class HubCache {
    private static final Logger LOG = LoggerFactory.getLogger(HubCache.class);
    static final String INCOMPLETE = ".incomplete";
    private static final String STAGING = ".convllava-staging";
    private static final String[] WEIGHT_INDEXES = {"pytorch_model.bin.index.json", "model.safetensors.index.json"};
    private static final String[] SINGLE_WEIGHTS = {"model.safetensors", "pytorch_model.bin"};

    private final Path root;
    private final LinkMode mode;
    private volatile LinkMode probed;

    public HubCache(Path root, LinkMode mode) {
        this.root = root.toAbsolutePath().normalize();
        this.mode = mode == null ? LinkMode.AUTO : mode;
    }

    public Path root() {
        return root;
    }

    public Path repoDir(String repo) {
        return root.resolve(RepoId.folderName(repo));
    }

    Path blobsDir(String repo) {
        return repoDir(repo).resolve("blobs");
    }

    Path blob(String repo, String name) {
        return FileNames.resolveInside(blobsDir(repo), checkBlobName(name));
    }

    Path incomplete(String repo, String name) {
        return FileNames.resolveInside(blobsDir(repo), checkBlobName(name) + INCOMPLETE);
    }

    private static String checkBlobName(String name) {
        if (name == null || !name.matches("[0-9a-zA-Z_-]{8,128}")) {
            throw new DownloadException(DownloadException.Kind.SERVER, "unusable blob name " + FileNames.quote(name));
        }
        return name;
    }

    Path snapshotDir(String repo, String commit) {
        if (!commit.matches("[0-9a-f]{40}|[0-9a-f]{64}")) {
            throw new DownloadException(DownloadException.Kind.SERVER, "not a commit hash: " + FileNames.quote(commit));
        }
        return repoDir(repo).resolve("snapshots").resolve(commit);
    }

    /** The commit a ref (branch or tag, e.g. "main") points to, if recorded. */
    public Optional<String> ref(String repo, String ref) {
        Path f = repoDir(repo).resolve("refs").resolve(ref);
        try {
            if (FileNames.problem(ref) == null && Files.isRegularFile(f)) {
                String c = Files.readString(f, StandardCharsets.UTF_8).trim();
                if (c.matches("[0-9a-f]{40}|[0-9a-f]{64}")) {
                    return Optional.of(c);
                }
            }
        } catch (IOException ignored) {
            // unreadable ref: as if absent
        }
        return Optional.empty();
    }

    /** Writes {@code refs/{ref}} atomically (no newline, as huggingface_hub writes it). */
    void writeRef(String repo, String ref, String commit) throws IOException {
        Path f = FileNames.resolveInside(repoDir(repo).resolve("refs"), ref);
        Files.createDirectories(f.getParent());
        Path tmp = f.resolveSibling("." + f.getFileName() + "." + UUID.randomUUID() + ".tmp");
        Files.writeString(tmp, commit, StandardCharsets.UTF_8);
        moveReplacing(tmp, f);
    }

    /**
     * The snapshot a loader should use: the one {@code refs/{revision}} names if it looks complete,
     * else the newest complete-looking one (huggingface_hub can make snapshots without refs).
     */
    public Optional<Path> installedSnapshot(String repo, String revision, boolean needsTokenizer) {
        Path snaps = repoDir(repo).resolve("snapshots");
        if (!Files.isDirectory(snaps)) {
            return Optional.empty();
        }
        Optional<String> c = revision.matches("[0-9a-f]{40}") ? Optional.of(revision) : ref(repo, revision);
        if (c.isPresent()) {
            Path p = snaps.resolve(c.get());
            if (looksComplete(p, needsTokenizer)) {
                return Optional.of(p);
            }
        }
        try (Stream<Path> s = Files.list(snaps)) {
            return s.filter(p -> p.getFileName().toString().matches("[0-9a-f]{40}|[0-9a-f]{64}"))
                    .filter(p -> looksComplete(p, needsTokenizer))
                    .max(Comparator.comparing((Path p) -> p.toFile().lastModified()));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** config.json, the weights (every shard an index names), and the tokenizer when asked: what the loader needs. */
    static boolean looksComplete(Path snapshot, boolean needsTokenizer) {
        if (!Files.isRegularFile(snapshot.resolve("config.json"))) {
            return false;
        }
        if (needsTokenizer && !Files.isRegularFile(snapshot.resolve("tokenizer.model")) && !Files.isRegularFile(snapshot.resolve("tokenizer.json"))) {
            return false;
        }
        for (String idx : WEIGHT_INDEXES) {
            Path index = snapshot.resolve(idx);
            if (Files.isRegularFile(index)) {
                try {
                    JsonNode map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
                    if (!map.isObject() || map.isEmpty()) {
                        return false;
                    }
                    for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
                        String shard = it.next().asText();
                        if (FileNames.problem(shard) != null || !Files.isRegularFile(snapshot.resolve(shard))) {
                            return false;
                        }
                    }
                    return true;
                } catch (IOException e) {
                    return false;
                }
            }
        }
        for (String w : SINGLE_WEIGHTS) {
            if (Files.isRegularFile(snapshot.resolve(w))) {
                return true;
            }
        }
        return false;
    }

    /** SYMLINK or COPY: AUTO is decided once by making a relative symlink in the cache. */
    LinkMode linkMode() throws IOException {
        if (mode != LinkMode.AUTO) {
            return mode;
        }
        if (probed == null) {
            Files.createDirectories(root);
            Path probe = root.resolve(".convllava-symlink-probe-" + UUID.randomUUID());
            try {
                Files.createSymbolicLink(probe, Path.of("target"));
                probed = LinkMode.SYMLINK;
            } catch (UnsupportedOperationException | IOException | SecurityException e) {
                LOG.info("symlinks are not available in {} ({}): snapshot files will be real files", root, e.toString());
                probed = LinkMode.COPY;
            } finally {
                Files.deleteIfExists(probe);
            }
        }
        return probed;
    }

    /**
     * Makes {@code snapshots/{commit}} hold {@code files} (repo path -> blob name), every blob
     * already verified in {@code blobs/}. A new snapshot is built in a staging folder at the same
     * depth (so the relative links are the same) and renamed into place; an existing one (e.g. a
     * partial huggingface_hub download) gets the missing files, config.json last.
     */
    Path createSnapshot(String repo, String commit, Map<String, String> files) throws IOException {
        Path snap = snapshotDir(repo, commit);
        LinkMode m = linkMode();
        Map<String, String> ordered = new LinkedHashMap<>();
        files.forEach((k, v) -> {
            if (!k.equals("config.json")) {
                ordered.put(k, v);
            }
        });
        if (files.containsKey("config.json")) {
            ordered.put("config.json", files.get("config.json"));
        }
        Map<String, Integer> uses = new LinkedHashMap<>();
        ordered.values().forEach(b -> uses.merge(b, 1, Integer::sum));
        if (!Files.exists(snap, LinkOption.NOFOLLOW_LINKS)) {
            Path staging = repoDir(repo).resolve(STAGING).resolve(commit + "-" + UUID.randomUUID());
            Files.createDirectories(staging);
            try {
                for (Map.Entry<String, String> e : ordered.entrySet()) {
                    place(repo, staging, e.getKey(), e.getValue(), m, uses);
                }
                Files.createDirectories(snap.getParent());
                try {
                    Files.move(staging, snap, StandardCopyOption.ATOMIC_MOVE);
                    return snap;
                } catch (FileAlreadyExistsException | DirectoryNotEmptyException raced) {
                    LOG.info("{} appeared meanwhile; adding the files to it", snap);
                    ordered.keySet().removeIf(f -> Files.isRegularFile(snap.resolve(f)));
                }
            } finally {
                deleteTree(staging);
                deleteIfEmpty(repoDir(repo).resolve(STAGING));
            }
        }
        if (!Files.isDirectory(snap, LinkOption.NOFOLLOW_LINKS)) {
            throw new DownloadException(DownloadException.Kind.IO, snap + " exists but is not a folder: remove it and download again");
        }
        for (Map.Entry<String, String> e : ordered.entrySet()) {
            Path target = FileNames.resolveInside(snap, e.getKey());
            if (Files.isRegularFile(target) && Files.size(target) == sizeOfBlobOrSelf(repo, e.getValue(), target)) {
                continue;
            }
            place(repo, snap, e.getKey(), e.getValue(), m, uses);
        }
        return snap;
    }

    private long sizeOfBlobOrSelf(String repo, String blobName, Path target) throws IOException {
        Path b = blob(repo, blobName);
        return Files.isRegularFile(b, LinkOption.NOFOLLOW_LINKS) ? Files.size(b) : Files.size(target);
    }

    /** One snapshot file: a relative symlink to the blob, or the blob itself (moved when no other file needs it). */
    private void place(String repo, Path snapDir, String file, String blobName, LinkMode m, Map<String, Integer> uses) throws IOException {
        Path target = FileNames.resolveInside(snapDir, file);
        Files.createDirectories(target.getParent());
        Path realSnap = snapDir.toRealPath();
        if (!target.getParent().toRealPath().startsWith(realSnap)) {
            throw new DownloadException(DownloadException.Kind.BAD_FILE_NAME, "refusing to write " + FileNames.quote(file)
                    + ": a folder on its path is a link leading out of " + snapDir);
        }
        Path blob = blob(repo, blobName);
        if (!Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS)) {
            throw new DownloadException(DownloadException.Kind.IO, "the verified blob " + blob + " for " + file + " disappeared");
        }
        Path tmp = target.resolveSibling("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
        if (m == LinkMode.SYMLINK) {
            Files.createSymbolicLink(tmp, target.getParent().relativize(blob));
        } else if (uses.merge(blobName, -1, Integer::sum) > 0) {
            Files.copy(blob, tmp);
        } else {
            Files.move(blob, tmp);
        }
        moveReplacing(tmp, target);
    }

    private static void moveReplacing(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Files of a snapshot folder (relative names, '/'-separated), links included; not following folder links. */
    static List<String> listFiles(Path snapshot) throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.isDirectory(snapshot)) {
            return out;
        }
        try (Stream<Path> s = Files.walk(snapshot)) {
            s.filter(p -> !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
                    .forEach(p -> out.add(snapshot.relativize(p).toString().replace('\\', '/')));
        }
        out.sort(null);
        return out;
    }

    /** The blob a snapshot file links to, if it is a link into this repo's blobs folder. */
    Optional<String> linkedBlob(String repo, Path snapshotFile) {
        if (!Files.isSymbolicLink(snapshotFile)) {
            return Optional.empty();
        }
        try {
            Path t = snapshotFile.getParent().resolve(Files.readSymbolicLink(snapshotFile)).normalize();
            Path blobs = blobsDir(repo).toAbsolutePath().normalize();
            if (t.getParent() != null && t.getParent().equals(blobs)) {
                return Optional.of(t.getFileName().toString());
            }
        } catch (IOException ignored) {
            // unreadable link
        }
        return Optional.empty();
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) { // walk does not follow links: a link is deleted, not its target
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }

    static void deleteIfEmpty(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // not empty
        }
    }
}
