package ai.convllava.hub;

import ai.convllava.hub.DownloadException.Kind;
import ai.convllava.hub.DownloadResult.Status;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Downloads of the tiny fixture repos from a fake Hub on 127.0.0.1: layout, resume, integrity, errors, security. */
class ModelDownloadTest {
    static final String MODEL = "ConvLLaVA/tiny-convllava";
    static final String TOWER = "ConvLLaVA/tiny-convllava-convnext";
    static final String SHARD = "pytorch_model-00001-of-00002.bin";
    static final ModelVariant TINY = new ModelVariant("tiny", MODEL, TOWER, "main", 5_000_000, 100_000_000, 24, 256, "fast");

    @TempDir
    Path tmp;
    Path cache;
    FakeHub hub;

    @BeforeEach
    void start() throws IOException {
        cache = tmp.resolve("hf").resolve("hub");
        hub = new FakeHub();
        hub.addFolder(MODEL, Fixtures.TINY.resolve("tiny-convllava"));
        hub.addFolder(TOWER, Fixtures.TINY.resolve("tiny-convllava-convnext"));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    HubSettings settings() {
        return HubSettings.of(hub.endpoint(), cache).withRetries(3, Duration.ofMillis(20), Duration.ofMillis(100))
                .withLinkMode(LinkMode.SYMLINK);
    }

    static final class Recorder implements DownloadListener {
        final List<DownloadProgress> progress = Collections.synchronizedList(new ArrayList<>());
        final List<FileProgress> files = Collections.synchronizedList(new ArrayList<>());
        final List<String> notes = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void onProgress(DownloadProgress p) {
            progress.add(p);
        }

        @Override
        public void onFile(FileProgress f) {
            files.add(f);
        }

        @Override
        public void onNote(String message) {
            notes.add(message);
        }

        DownloadProgress last() {
            return progress.get(progress.size() - 1);
        }
    }

    DownloadResult download(HubSettings s, DownloadListener l) throws InterruptedException {
        return new ModelManager(s).downloadNow(TINY, l);
    }

    FakeHub.Repo repo(String id) {
        return hub.repos.get(id);
    }

    String sha256(String repo, String file) {
        return FakeHub.hex(FakeHub.sha("SHA-256", repo(repo).files.get(file)));
    }

    /** Nothing but the cache folder (and the test's own files) under tmp. */
    void assertNothingOutsideCache() throws IOException {
        try (Stream<Path> s = Files.walk(tmp)) {
            List<Path> outside = s.filter(p -> !p.startsWith(cache) && !cache.startsWith(p)).toList();
            assertEquals(List.of(), outside);
        }
    }

    @Test
    void downloadsBothReposIntoTheHuggingFaceLayout() throws Exception {
        Recorder rec = new Recorder();
        DownloadResult r = download(settings().withParallelFiles(3), rec);
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        FakeHub.Repo m = repo(MODEL);
        Path repoDir = cache.resolve("models--ConvLLaVA--tiny-convllava");
        assertEquals(repoDir.resolve("snapshots").resolve(m.commit), r.modelSnapshot());
        assertEquals(m.commit, Files.readString(repoDir.resolve("refs/main")));
        for (String f : m.files.keySet()) {
            Path link = r.modelSnapshot().resolve(f);
            assertTrue(Files.isSymbolicLink(link), f);
            String blob = m.lfs.get(f) ? sha256(MODEL, f) : FakeHub.gitBlobId(m.files.get(f));
            assertEquals(Path.of("..", "..", "blobs", blob), Files.readSymbolicLink(link), "relative link as huggingface_hub makes it");
            assertTrue(Files.isRegularFile(repoDir.resolve("blobs").resolve(blob), LinkOption.NOFOLLOW_LINKS));
            assertTrue(java.util.Arrays.equals(m.files.get(f), Files.readAllBytes(link)), f);
        }
        try (Stream<Path> s = Files.list(repoDir.resolve("blobs"))) {
            assertTrue(s.noneMatch(p -> p.toString().endsWith(".incomplete")));
        }
        assertFalse(Files.exists(repoDir.resolve(".convllava-staging")));
        long total = m.files.values().stream().mapToLong(b -> b.length).sum()
                + repo(TOWER).files.values().stream().mapToLong(b -> b.length).sum();
        assertEquals(total, r.bytesDownloaded());
        DownloadProgress last = rec.last();
        assertEquals(DownloadProgress.Phase.DONE, last.phase());
        assertEquals(total, last.bytesDone());
        assertEquals(total, last.bytesTotal());
        assertEquals(last.filesTotal(), last.filesDone());
        assertTrue(last.files().stream().allMatch(f -> f.state() == FileState.DONE));
        assertTrue(rec.files.stream().anyMatch(f -> f.state() == FileState.VERIFYING));

        ModelManager mm = new ModelManager(settings());
        ModelStatus st = mm.status(TINY);
        assertEquals(ModelStatus.State.INSTALLED, st.state());
        assertEquals(r.modelSnapshot(), mm.snapshotFolder(TINY).orElseThrow());
        assertEquals(r.towerSnapshot(), mm.towerFolder(TINY).orElseThrow());
        assertTrue(st.bytesOnDisk() >= total && st.bytesOnDisk() < total + 200, "blobs and refs: " + st.bytesOnDisk());

        // a second run finds everything in the cache (as it would after huggingface_hub downloaded it)
        Recorder again = new Recorder();
        long hitsBefore = hub.hits(SHARD);
        DownloadResult r2 = download(settings(), again);
        assertEquals(Status.COMPLETED, r2.status());
        assertEquals(0, r2.bytesDownloaded());
        assertEquals(total, r2.bytesReused());
        assertEquals(hitsBefore, hub.hits(SHARD));
        assertTrue(again.last().files().stream().allMatch(f -> f.state() == FileState.PRESENT));
    }

    @Test
    void aDroppedConnectionIsResumedWithRangeAndVerified() throws Exception {
        hub.dropAfter.put(SHARD, new long[] {1_000_000, 1});
        Recorder rec = new Recorder();
        DownloadResult r = download(settings(), rec);
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        List<FakeHub.Request> reqs = hub.fileRequests(SHARD);
        assertEquals(2, reqs.size(), reqs.toString());
        assertNull(reqs.get(0).range());
        long resumedAt = Long.parseLong(reqs.get(1).range().replaceAll("[^0-9]", ""));
        assertTrue(resumedAt > 0 && resumedAt <= 1_000_000, reqs.get(1).range());
        assertTrue(java.util.Arrays.equals(repo(MODEL).files.get(SHARD), Files.readAllBytes(r.modelSnapshot().resolve(SHARD))));
        assertTrue(rec.notes.stream().anyMatch(n -> n.contains("connection") && n.contains(SHARD)), rec.notes.toString());
        assertTrue(rec.notes.stream().anyMatch(n -> n.contains("resuming")), rec.notes.toString());
    }

    @Test
    void aNewClientAfterARestartResumesTheIncompleteFile() throws Exception {
        hub.dropAfter.put(SHARD, new long[] {700_000, 1});
        DownloadResult first = download(settings().withRetries(0, Duration.ofMillis(10), Duration.ofMillis(10)), DownloadListener.NONE);
        assertEquals(Status.FAILED, first.status());
        assertEquals(Kind.NETWORK, first.error().kind());
        assertTrue(first.error().getMessage().contains(SHARD), first.error().getMessage());
        Path blobs = cache.resolve("models--ConvLLaVA--tiny-convllava/blobs");
        Path partial = blobs.resolve(sha256(MODEL, SHARD) + ".incomplete");
        assertTrue(Files.isRegularFile(partial));
        long kept = Files.size(partial);
        assertTrue(kept > 0 && kept <= 700_000, "kept " + kept);
        assertFalse(Files.exists(cache.resolve("models--ConvLLaVA--tiny-convllava/snapshots")), "no snapshot before every file is verified");
        assertFalse(Files.exists(cache.resolve("models--ConvLLaVA--tiny-convllava/refs")));
        assertEquals(ModelStatus.State.PARTIAL, new ModelManager(settings()).status(TINY).state());

        Recorder rec = new Recorder();
        DownloadResult second = download(settings(), rec); // a new manager: nothing shared but the disk
        assertEquals(Status.COMPLETED, second.status(), () -> String.valueOf(second.error()));
        List<FakeHub.Request> reqs = hub.fileRequests(SHARD);
        assertEquals("bytes=" + kept + "-", reqs.get(reqs.size() - 1).range());
        assertTrue(rec.files.stream().anyMatch(f -> f.file().equals(SHARD) && f.state() == FileState.HASHING_PARTIAL));
        assertTrue(java.util.Arrays.equals(repo(MODEL).files.get(SHARD), Files.readAllBytes(second.modelSnapshot().resolve(SHARD))));
        assertFalse(Files.exists(partial));
    }

    @Test
    void aCorruptByteIsDownloadedAgainOnce() throws Exception {
        hub.corrupt.put(SHARD, new java.util.concurrent.atomic.AtomicInteger(1));
        Recorder rec = new Recorder();
        DownloadResult r = download(settings(), rec);
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        assertEquals(2, hub.hits(SHARD));
        assertTrue(rec.notes.stream().anyMatch(n -> n.contains("corrupt") && n.contains("sha256")), rec.notes.toString());
        assertTrue(java.util.Arrays.equals(repo(MODEL).files.get(SHARD), Files.readAllBytes(r.modelSnapshot().resolve(SHARD))));
    }

    @Test
    void aFileCorruptEveryTimeFailsAndIsNeverUsed() throws Exception {
        hub.corrupt.put(SHARD, new java.util.concurrent.atomic.AtomicInteger(1000));
        DownloadResult r = download(settings(), DownloadListener.NONE);
        assertEquals(Status.FAILED, r.status());
        assertEquals(Kind.INTEGRITY, r.error().kind());
        assertTrue(r.error().getMessage().contains(SHARD) && r.error().getMessage().contains("sha256"), r.error().getMessage());
        Path repoDir = cache.resolve("models--ConvLLaVA--tiny-convllava");
        assertFalse(Files.exists(repoDir.resolve("snapshots")));
        assertFalse(Files.exists(repoDir.resolve("refs")));
        assertFalse(Files.exists(repoDir.resolve("blobs").resolve(sha256(MODEL, SHARD))));
        assertFalse(Files.exists(cache.resolve("models--ConvLLaVA--tiny-convllava-convnext/snapshots")));
        ModelManager mm = new ModelManager(settings());
        assertTrue(mm.snapshotFolder(TINY).isEmpty());
    }

    @Test
    void rateLimitWaitsForRetryAfterThenSucceeds() throws Exception {
        hub.rateLimited.set(1);
        hub.retryAfterSeconds = 1;
        Recorder rec = new Recorder();
        long t0 = System.nanoTime();
        DownloadResult r = download(settings(), rec);
        double secs = (System.nanoTime() - t0) / 1e9;
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        assertTrue(secs >= 0.95, "waited " + secs + " s");
        assertTrue(rec.notes.stream().anyMatch(n -> n.contains("429") && n.contains("1.0 s")), rec.notes.toString());
    }

    @Test
    void serverErrorsAreRetriedWithBackoffAndThenReported() throws Exception {
        hub.serverErrors.set(2);
        DownloadResult ok = download(settings(), DownloadListener.NONE);
        assertEquals(Status.COMPLETED, ok.status(), () -> String.valueOf(ok.error()));

        hub.serverErrors.set(100);
        DownloadResult r = download(settings().withCacheDir(tmp.resolve("other")), DownloadListener.NONE);
        assertEquals(Kind.SERVER, r.error().kind());
        assertTrue(r.error().getMessage().contains("503"), r.error().getMessage());
        hub.serverErrors.set(0);
    }

    @Test
    void httpErrorsBecomeClearMessagesWithoutTheToken() throws Exception {
        String token = "hf_SECRETsecretSECRET";
        hub.requiredToken = "hf_theRightOne";
        DownloadResult noToken = download(settings(), DownloadListener.NONE);
        assertEquals(Kind.UNAUTHORIZED, noToken.error().kind());
        assertTrue(noToken.error().getMessage().contains("needs a Hugging Face token") && noToken.error().getMessage().contains("HF_TOKEN"),
                noToken.error().getMessage());
        DownloadResult badToken = download(settings().withToken(token), DownloadListener.NONE);
        assertEquals(Kind.UNAUTHORIZED, badToken.error().kind());
        assertTrue(badToken.error().getMessage().contains("invalid or expired"), badToken.error().getMessage());
        assertFalse(badToken.error().getMessage().contains(token));
        assertFalse(settings().withToken(token).toString().contains(token));
        hub.requiredToken = null;

        hub.repoStatus.put(TOWER, 403);
        DownloadResult gated = download(settings().withToken(token), DownloadListener.NONE);
        assertEquals(Kind.GATED, gated.error().kind());
        assertTrue(gated.error().getMessage().contains("accept its licence") && gated.error().getMessage().contains(hub.endpoint() + "/" + TOWER),
                gated.error().getMessage());
        hub.repoStatus.clear();

        ModelVariant missing = new ModelVariant("x", "ConvLLaVA/nope", null, "main", 1, 1, 1, 64, "");
        DownloadResult nf = new ModelManager(settings()).downloadNow(missing, DownloadListener.NONE);
        assertEquals(Kind.NOT_FOUND, nf.error().kind());
        assertTrue(nf.error().getMessage().contains("ConvLLaVA/nope was not found"), nf.error().getMessage());
        ModelVariant badRev = new ModelVariant("x", MODEL, null, "v9", 1, 1, 1, 64, "");
        DownloadResult nr = new ModelManager(settings()).downloadNow(badRev, DownloadListener.NONE);
        assertEquals(Kind.NOT_FOUND, nr.error().kind());
        assertTrue(nr.error().getMessage().contains("revision v9"), nr.error().getMessage());
        for (DownloadResult r : List.of(noToken, badToken, gated, nf, nr)) {
            assertEquals(Status.FAILED, r.status());
            assertFalse(r.error().getMessage().contains(token));
        }
    }

    @Test
    void hostileFileNamesAreRefusedAndNothingIsWritten() throws Exception {
        for (String evil : new String[] {"../evil", "/etc/x", "a/../../b", "..", "a\\..\\b", "C:/x", "a//b", "./c", "x/\u0000y"}) {
            FakeHub.Repo r = repo(TOWER);
            r.put(evil, "pwned".getBytes(), false);
            try {
                DownloadResult res = download(settings(), DownloadListener.NONE);
                assertEquals(Status.FAILED, res.status(), evil);
                assertEquals(Kind.BAD_FILE_NAME, res.error().kind(), evil + ": " + res.error().getMessage());
                assertTrue(res.error().getMessage().contains("refusing"), res.error().getMessage());
            } finally {
                r.files.remove(evil);
                r.lfs.remove(evil);
            }
            assertNothingOutsideCache();
            assertTrue(hub.fileRequests("").isEmpty() && hub.hits(SHARD) == 0, "no file was requested");
            assertFalse(Files.exists(cache.resolve("models--ConvLLaVA--tiny-convllava-convnext/blobs")), evil);
        }
    }

    @Test
    void redirectsArePolicedAndTheTokenStaysWithTheHub() throws Exception {
        String token = "hf_tokenForTheHubOnly";
        hub.lfsCdn = hub.otherOrigin(); // LFS files come from "localhost": another origin
        DownloadResult ok = download(settings().withToken(token), DownloadListener.NONE);
        assertEquals(Status.COMPLETED, ok.status(), () -> String.valueOf(ok.error()));
        List<FakeHub.Request> cdn = hub.requests.stream().filter(q -> q.path().startsWith("/cdn/")).toList();
        assertFalse(cdn.isEmpty());
        assertTrue(cdn.stream().allMatch(q -> q.authorization() == null), "no token to the CDN");
        assertTrue(hub.requests.stream().filter(q -> q.path().startsWith("/api/")).allMatch(q -> ("Bearer " + token).equals(q.authorization())));

        hub.lfsCdn = null;
        hub.redirect.put(SHARD, "http://cdn.example.com/evil.bin");
        DownloadResult r = download(settings().withCacheDir(tmp.resolve("c2")).withToken(token), DownloadListener.NONE);
        assertEquals(Kind.INSECURE, r.error().kind());
        assertTrue(r.error().getMessage().contains("http://cdn.example.com/evil.bin") && r.error().getMessage().contains("only HTTPS"),
                r.error().getMessage());

        hub.redirect.put(SHARD, "/" + MODEL + "/resolve/main/" + SHARD); // a loop
        DownloadResult loop = download(settings().withCacheDir(tmp.resolve("c3")), DownloadListener.NONE);
        assertEquals(Kind.INSECURE, loop.error().kind());
        assertTrue(loop.error().getMessage().contains("too many redirects"), loop.error().getMessage());
    }

    @Test
    void notEnoughDiskSpaceIsReportedBeforeDownloading() throws Exception {
        DownloadResult r = download(settings().withFreeSpace(dir -> 1_000_000), DownloadListener.NONE);
        assertEquals(Kind.DISK_FULL, r.error().kind());
        assertTrue(r.error().getMessage().matches(".*needs 5\\.\\d MB more, 1\\.0 MB is free.*"), r.error().getMessage());
        assertEquals(0, hub.hits(SHARD));
    }

    @Test
    void cancelStopsQuicklyKeepsPartialDataAndALaterRunResumes() throws Exception {
        hub.throttleBytesPerSecond = 1_000_000;
        ModelManager mm = new ModelManager(settings().withParallelFiles(2));
        Recorder rec = new Recorder();
        DownloadHandle h = mm.download(TINY, rec);
        long deadline = System.nanoTime() + 10_000_000_000L;
        DownloadProgress mid = null;
        try {
            while (mid == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
                mid = rec.progress.stream().filter(p -> p.bytesDone() > 300_000 && p.bytesPerSecond() > 0).findFirst().orElse(null);
            }
        } finally {
            if (mid == null) {
                h.cancel();
                h.await();
            }
        }
        assertNotNull(mid, "no progress with a speed");
        assertTrue(mid.bytesPerSecond() > 0, "speed " + mid.bytesPerSecond());
        assertNotNull(mid.eta());
        h.cancel();
        DownloadResult r = h.await();
        assertEquals(Status.CANCELLED, r.status());
        assertNull(r.error());
        assertEquals(DownloadProgress.Phase.CANCELLED, rec.last().phase());
        Path partial = cache.resolve("models--ConvLLaVA--tiny-convllava/blobs").resolve(sha256(MODEL, SHARD) + ".incomplete");
        // stopped at once: the throttled shard is still incomplete (had the cancel waited for the transfer, it would be whole)
        assertTrue(Files.size(partial) > 0);
        assertTrue(Files.size(partial) < Files.size(Fixtures.TINY.resolve("tiny-convllava").resolve(SHARD)), "the shard was downloaded whole");
        hub.throttleBytesPerSecond = 0;
        DownloadResult again = mm.downloadNow(TINY, DownloadListener.NONE);
        assertEquals(Status.COMPLETED, again.status(), () -> String.valueOf(again.error()));
        assertTrue(again.bytesReused() > 0);
    }

    @Test
    void cancelWhileWaitingForTheServerReturnsAtOnce() throws Exception {
        hub.headerDelayMillis = 5_000;
        DownloadHandle h = new ModelManager(settings()).download(TINY, DownloadListener.NONE);
        while (hub.requests.isEmpty()) { // until the first request waits at the server
            Thread.sleep(10);
        }
        h.cancel();
        DownloadResult r = h.await();
        assertEquals(Status.CANCELLED, r.status());
        assertEquals(0, hub.delayedAnswers.get(), "the cancel waited for the server to answer");
        hub.headerDelayMillis = 0;
    }
}
