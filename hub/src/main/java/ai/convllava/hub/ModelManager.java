package ai.convllava.hub;

import ai.convllava.hub.DownloadException.Kind;
import ai.convllava.hub.VerifyReport.FileCheck;
import ai.convllava.hub.VerifyReport.Status;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * The model manager: which ConvLLaVA sizes are installed in the Hugging Face cache, downloading
 * them (both repos of a size) from the Hub or a mirror, verifying and removing them. The cache is
 * the one huggingface_hub uses, so models downloaded by Python tools are found and reused, and
 * ours are reusable by them.
 *
 * <pre>
 * ModelManager mm = ModelManager.fromEnvironment();
 * DownloadHandle h = mm.download(ModelVariant.standard("768"), listener);   // returns at once
 * DownloadResult r = h.await();                                                // or h.result().thenAccept(...)
 * LoadOptions.of(r.modelSnapshot()).withVisionTower(r.towerSnapshot());
 * </pre>
 */
public final class ModelManager {
    private final HubSettings settings;
    private final HubCache cache;

    public ModelManager(HubSettings settings) {
        this.settings = settings;
        this.cache = new HubCache(settings.cacheDir(), settings.linkMode());
    }

    /** HF_ENDPOINT, HF_TOKEN (or the token file), HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub. */
    public static ModelManager fromEnvironment() {
        return new ModelManager(HubSettings.fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home"))));
    }

    public HubSettings settings() {
        return settings;
    }

    public HubCache cache() {
        return cache;
    }

    public List<ModelVariant> variants() {
        return ModelVariant.STANDARD;
    }

    /** Every standard size and its state. */
    public List<ModelStatus> list() {
        List<ModelStatus> out = new ArrayList<>();
        for (ModelVariant v : variants()) {
            out.add(status(v));
        }
        return out;
    }

    public ModelStatus status(ModelVariant v) {
        Path model = cache.installedSnapshot(v.modelRepo(), v.revision(), true).orElse(null);
        Path tower = v.towerRepo() == null ? null : cache.installedSnapshot(v.towerRepo(), v.revision(), false).orElse(null);
        long onDisk = 0;
        long partial = 0;
        for (String repo : v.repos()) {
            long[] s = diskUse(cache.repoDir(repo));
            onDisk += s[0];
            partial += s[1];
        }
        ModelStatus.State st = model != null && (tower != null || v.towerRepo() == null) ? ModelStatus.State.INSTALLED
                : onDisk > 0 || model != null || tower != null ? ModelStatus.State.PARTIAL : ModelStatus.State.NOT_INSTALLED;
        return new ModelStatus(v, st, model, tower, onDisk, partial);
    }

    /** The ConvLLaVA-sft snapshot folder to load, when both repos of the size are installed. */
    public Optional<Path> snapshotFolder(ModelVariant v) {
        ModelStatus s = status(v);
        return s.installed() ? Optional.of(s.modelSnapshot()) : Optional.empty();
    }

    /** The matching ConvLLaVA-ConvNeXt snapshot folder (pass it as the vision tower). */
    public Optional<Path> towerFolder(ModelVariant v) {
        ModelStatus s = status(v);
        return s.installed() ? Optional.ofNullable(s.towerSnapshot()) : Optional.empty();
    }

    /** Starts downloading both repos of {@code v} on a background thread; the handle cancels or awaits it. */
    public DownloadHandle download(ModelVariant v, DownloadListener listener) {
        CancelToken cancel = new CancelToken();
        DownloadRun run = new DownloadRun(v, settings, cache, listener, cancel);
        CompletableFuture<DownloadResult> f = new CompletableFuture<>();
        Thread t = new Thread(() -> f.complete(run.run()), "model-download-" + v.id());
        t.setDaemon(true);
        t.start();
        return new DownloadHandle(() -> {
            run.markUserCancelled();
            cancel.cancel();
        }, f);
    }

    /** Blocking download (CLI, tests). */
    public DownloadResult downloadNow(ModelVariant v, DownloadListener listener) throws InterruptedException {
        return download(v, listener).await();
    }

    /**
     * Re-hashes the installed snapshots of {@code v}: every file linked to a blob named by its
     * sha256 or git blob id is hashed; with {@code online}, the Hub's file list of that commit is
     * also compared (missing files, copied files' hashes). A corrupt file is deleted so that the
     * next download fetches it again.
     */
    public VerifyReport verify(ModelVariant v, boolean online, DownloadListener listener) {
        DownloadListener l = listener == null ? DownloadListener.NONE : listener;
        List<FileCheck> checks = new ArrayList<>();
        HubClient client = online ? new HubClient(settings) : null;
        for (String repo : v.repos()) {
            boolean isModel = repo.equals(v.modelRepo());
            Path snap = cache.installedSnapshot(repo, v.revision(), isModel).orElse(null);
            if (snap == null) {
                checks.add(new FileCheck(repo, "", Status.MISSING, "no complete snapshot of " + repo + " in " + cache.root()));
                continue;
            }
            Map<String, RepoFile> listed = new HashMap<>();
            if (client != null) {
                RepoInfo info = client.modelInfo(repo, snap.getFileName().toString(), new CancelToken(), l::onNote);
                info.files().forEach(f -> listed.put(f.name(), f));
            }
            try {
                Set<String> seen = new HashSet<>();
                for (String name : HubCache.listFiles(snap)) {
                    seen.add(name);
                    checks.add(check(repo, snap, name, listed.get(name), l));
                }
                for (String name : listed.keySet()) {
                    if (!seen.contains(name)) {
                        checks.add(new FileCheck(repo, name, Status.MISSING, "listed by the Hub but not in " + snap));
                    }
                }
            } catch (IOException e) {
                throw new DownloadException(Kind.IO, "cannot read " + snap + ": " + e.getMessage(), e);
            }
        }
        return new VerifyReport(v, checks);
    }

    private FileCheck check(String repo, Path snap, String name, RepoFile listed, DownloadListener l) throws IOException {
        Path p = snap.resolve(name);
        if (!Files.exists(p)) {
            return new FileCheck(repo, name, Status.MISSING, "the link points to a missing blob");
        }
        Optional<String> blobName = cache.linkedBlob(repo, p);
        String expected = listed != null ? listed.blobName() : blobName.filter(b -> b.matches("[0-9a-f]{64}|[0-9a-f]{40}")).orElse(null);
        if (listed != null && Files.size(p) != listed.size()) {
            return corrupt(repo, name, p, blobName, Files.size(p) + " bytes instead of " + listed.size());
        }
        if (expected == null) {
            return new FileCheck(repo, name, Status.UNCHECKED, "no reference hash offline (" + Files.size(p) + " bytes)");
        }
        l.onFile(new FileProgress(repo, name, Files.size(p), 0, FileState.VERIFYING, 0, null));
        String got = Hashes.ofFileLike(p, expected, null, n -> { });
        if (!got.equals(expected)) {
            return corrupt(repo, name, p, blobName, (expected.length() == 64 ? "sha256 " : "git hash ") + got + " instead of " + expected);
        }
        l.onFile(new FileProgress(repo, name, Files.size(p), Files.size(p), FileState.DONE, 0, null));
        return new FileCheck(repo, name, Status.OK, expected.length() == 64 ? "sha256 ok" : "git hash ok");
    }

    private FileCheck corrupt(String repo, String name, Path p, Optional<String> blobName, String why) throws IOException {
        Path bad = blobName.isPresent() ? cache.blob(repo, blobName.get()) : p;
        Files.deleteIfExists(bad);
        return new FileCheck(repo, name, Status.CORRUPT, why + "; deleted " + bad.getFileName() + ", download again to repair");
    }

    /**
     * Deletes the installed snapshot of each repo of {@code v}, the blobs no other snapshot uses,
     * partial downloads, the refs pointing to it, and the repo folder when nothing is left.
     */
    public RemoveReport remove(ModelVariant v) {
        List<Path> deleted = new ArrayList<>();
        long freed = 0;
        try {
            for (String repo : v.repos()) {
                Path dir = cache.repoDir(repo);
                if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                Path snaps = dir.resolve("snapshots");
                Optional<String> ref = cache.ref(repo, v.revision());
                Path snap = ref.map(c -> snaps.resolve(c)).filter(Files::isDirectory)
                        .orElseGet(() -> cache.installedSnapshot(repo, v.revision(), repo.equals(v.modelRepo())).orElse(null));
                Set<String> used = new HashSet<>();
                if (snap != null) {
                    for (String f : HubCache.listFiles(snap)) {
                        Path p = snap.resolve(f);
                        cache.linkedBlob(repo, p).ifPresent(used::add);
                        if (!Files.isSymbolicLink(p)) {
                            freed += Files.size(p);
                        }
                    }
                    HubCache.deleteTree(snap);
                    deleted.add(snap);
                }
                // refs that pointed to the removed snapshot
                Path refs = dir.resolve("refs");
                if (snap != null && Files.isDirectory(refs)) {
                    try (Stream<Path> s = Files.walk(refs)) {
                        for (Path r : s.filter(Files::isRegularFile).toList()) {
                            if (Files.readString(r).trim().equals(snap.getFileName().toString())) {
                                Files.delete(r);
                                deleted.add(r);
                            }
                        }
                    }
                }
                // blobs still used by other snapshots stay
                Set<String> stillUsed = new HashSet<>();
                if (Files.isDirectory(snaps)) {
                    try (Stream<Path> s = Files.list(snaps)) {
                        for (Path other : s.toList()) {
                            for (String f : HubCache.listFiles(other)) {
                                cache.linkedBlob(repo, other.resolve(f)).ifPresent(stillUsed::add);
                            }
                        }
                    }
                }
                Path blobs = dir.resolve("blobs");
                if (Files.isDirectory(blobs)) {
                    try (Stream<Path> s = Files.list(blobs)) {
                        for (Path b : s.toList()) {
                            String n = b.getFileName().toString();
                            boolean partial = n.endsWith(HubCache.INCOMPLETE);
                            if (partial || used.contains(n) || stillUsed.isEmpty() && !hasSnapshots(snaps)) {
                                if (!stillUsed.contains(n)) {
                                    freed += Files.size(b);
                                    Files.delete(b);
                                    deleted.add(b);
                                }
                            }
                        }
                    }
                }
                if (!hasSnapshots(snaps)) {
                    long[] rest = diskUse(dir);
                    freed += rest[0];
                    HubCache.deleteTree(dir);
                    deleted.add(dir);
                }
            }
        } catch (IOException e) {
            throw new DownloadException(Kind.IO, "cannot remove " + v.id() + " from " + cache.root() + ": " + e.getMessage()
                    + " (is the model open in the app?)", e);
        }
        return new RemoveReport(v, deleted, freed);
    }

    private static boolean hasSnapshots(Path snaps) throws IOException {
        if (!Files.isDirectory(snaps)) {
            return false;
        }
        try (Stream<Path> s = Files.list(snaps)) {
            return s.findAny().isPresent();
        }
    }

    /** {all bytes, partial bytes} of regular files under a repo folder (links not followed, so blobs count once). */
    private static long[] diskUse(Path dir) {
        long[] out = new long[2];
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return out;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).forEach(p -> {
                try {
                    long n = Files.size(p);
                    out[0] += n;
                    if (p.getFileName().toString().endsWith(HubCache.INCOMPLETE)) {
                        out[1] += n;
                    }
                } catch (IOException ignored) {
                    // vanished meanwhile
                }
            });
        } catch (IOException ignored) {
            // unreadable: count what we saw
        }
        return out;
    }
}
