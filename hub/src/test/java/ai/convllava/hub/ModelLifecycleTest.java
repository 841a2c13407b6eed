package ai.convllava.hub;

import ai.convllava.model.engine.ModelLoader;
import ai.convllava.model.config.ModelFolder;
import ai.convllava.hub.DownloadException.Kind;
import ai.convllava.hub.DownloadResult.Status;
import ai.convllava.model.engine.Conversation;
import ai.convllava.model.engine.ConvLlava;
import ai.convllava.model.api.Device;
import ai.convllava.model.engine.ImageFeatures;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.nn.LoadListener;
import ai.convllava.model.tokenizer.ConversationPrompt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;

import static ai.convllava.hub.ModelDownloadTest.MODEL;
import static ai.convllava.hub.ModelDownloadTest.SHARD;
import static ai.convllava.hub.ModelDownloadTest.TINY;
import static ai.convllava.hub.ModelDownloadTest.TOWER;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** After a download: the model loads and answers; verify, remove, copy mode, a cache made by huggingface_hub, stalls. */
class ModelLifecycleTest {
    @TempDir
    Path tmp;
    Path cache;
    FakeHub hub;

    @BeforeEach
    void start() throws IOException {
        cache = tmp.resolve("hub");
        hub = new FakeHub();
        hub.addFolder(MODEL, Fixtures.TINY.resolve("tiny-convllava"));
        hub.addFolder(TOWER, Fixtures.TINY.resolve("tiny-convllava-convnext"));
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    HubSettings settings() {
        return HubSettings.of(hub.endpoint(), cache).withRetries(3, Duration.ofMillis(20), Duration.ofMillis(100));
    }

    static int[] fourGreedyTokens(LoadOptions o) throws IOException {
        try (ConvLlava m = ModelLoader.load(o.withDevice(Device.CPU), LoadListener.NONE, () -> false)) {
            PreprocessedImage px = m.preprocessor().preprocess(ImageDecoder.decode(Fixtures.TINY.resolve("images/wide.png")), CanvasMode.PAD);
            int[] ids = ConversationPrompt.imageQuestion("What is the tallest bar in this chart?").inputIds(m.tokenizer());
            try (ImageFeatures f = m.encodeImage(px, null, () -> false); Conversation conv = m.newConversation(ids.length + f.tokens() + 8)) {
                return m.generate(conv, ids, f, GenerationConfig.greedy(4), TokenListener.NONE, () -> false, null, System.nanoTime())
                        .generatedIds();
            }
        }
    }

    @Test
    void theDownloadedSnapshotLoadsAndAnswersLikeTheFixtureFolder() throws Exception {
        ModelManager mm = new ModelManager(settings());
        DownloadResult r = mm.downloadNow(TINY, DownloadListener.NONE);
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        Path snap = mm.snapshotFolder(TINY).orElseThrow();
        // the engine's own search finds the tower in the same cache (HF_HUB_CACHE-style override, no home folder)
        ModelFolder folder = ModelFolder.open(snap);
        Path found = folder.findVisionTowerFolder(Map.of("HF_HUB_CACHE", cache.toString()), null).orElseThrow();
        assertEquals(mm.towerFolder(TINY).orElseThrow(), found);
        int[] fromCache = fourGreedyTokens(LoadOptions.of(snap).withVisionTower(found));
        int[] fromFixture = fourGreedyTokens(LoadOptions.of(Fixtures.TINY.resolve("tiny-convllava")));
        assertEquals(4, fromCache.length);
        assertArrayEquals(fromFixture, fromCache);
    }

    @Test
    void copyModeKeepsRealFilesAndNoDuplicateBlobs() throws Exception {
        ModelManager mm = new ModelManager(settings().withLinkMode(LinkMode.COPY));
        DownloadResult r = mm.downloadNow(TINY, DownloadListener.NONE);
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        Path shard = r.modelSnapshot().resolve(SHARD);
        assertTrue(Files.isRegularFile(shard, LinkOption.NOFOLLOW_LINKS));
        assertArrayEquals(hub.repos.get(MODEL).files.get(SHARD), Files.readAllBytes(shard));
        try (Stream<Path> s = Files.list(cache.resolve("models--ConvLLaVA--tiny-convllava/blobs"))) {
            assertEquals(0, s.count(), "blobs moved into the snapshot");
        }
        assertTrue(mm.status(TINY).installed());
        // present files are not fetched again
        DownloadResult again = mm.downloadNow(TINY, DownloadListener.NONE);
        assertEquals(0, again.bytesDownloaded());
        VerifyReport v = mm.verify(TINY, false, DownloadListener.NONE);
        assertTrue(v.ok(), v.toString());
        assertTrue(v.files().stream().allMatch(f -> f.status() == VerifyReport.Status.UNCHECKED));
        VerifyReport online = mm.verify(TINY, true, DownloadListener.NONE);
        assertTrue(online.ok(), online.toString());
        assertTrue(online.files().stream().allMatch(f -> f.status() == VerifyReport.Status.OK), online.toString());
    }

    @Test
    void aCacheMadeByHuggingfaceHubIsReusedWithoutDownloading() throws Exception {
        // lay out both repos as huggingface_hub's snapshot_download does: blobs named by sha256 / git blob id, relative links, refs/main
        for (String repo : new String[] {MODEL, TOWER}) {
            FakeHub.Repo r = hub.repos.get(repo);
            Path dir = cache.resolve("models--" + repo.replace("/", "--"));
            Files.createDirectories(dir.resolve("blobs"));
            Path snap = Files.createDirectories(dir.resolve("snapshots").resolve(r.commit));
            for (Map.Entry<String, byte[]> e : r.files.entrySet()) {
                String blob = r.lfs.get(e.getKey()) ? FakeHub.hex(FakeHub.sha("SHA-256", e.getValue())) : FakeHub.gitBlobId(e.getValue());
                Files.write(dir.resolve("blobs").resolve(blob), e.getValue());
                Files.createSymbolicLink(snap.resolve(e.getKey()), Path.of("../../blobs/" + blob));
            }
            Files.createDirectories(dir.resolve("refs"));
            Files.writeString(dir.resolve("refs/main"), r.commit);
        }
        ModelManager mm = new ModelManager(settings());
        assertTrue(mm.status(TINY).installed());
        DownloadResult r = mm.downloadNow(TINY, DownloadListener.NONE);
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        assertEquals(0, r.bytesDownloaded());
        assertTrue(hub.requests.stream().noneMatch(q -> q.path().contains("/resolve/")));
        VerifyReport v = mm.verify(TINY, false, DownloadListener.NONE);
        assertTrue(v.ok() && v.files().stream().allMatch(f -> f.status() == VerifyReport.Status.OK), v.toString());
    }

    @Test
    void verifyFindsACorruptBlobAndTheNextDownloadRepairsIt() throws Exception {
        ModelManager mm = new ModelManager(settings().withLinkMode(LinkMode.SYMLINK));
        assertEquals(Status.COMPLETED, mm.downloadNow(TINY, DownloadListener.NONE).status());
        VerifyReport good = mm.verify(TINY, false, DownloadListener.NONE);
        assertTrue(good.ok(), good.toString());
        assertEquals(hub.repos.get(MODEL).files.size() + hub.repos.get(TOWER).files.size(), good.files().size());
        assertTrue(good.files().stream().allMatch(f -> f.status() == VerifyReport.Status.OK), good.toString());

        Path shard = mm.snapshotFolder(TINY).orElseThrow().resolve(SHARD);
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {42}), 1000);
        }
        VerifyReport bad = mm.verify(TINY, false, DownloadListener.NONE);
        assertFalse(bad.ok());
        VerifyReport.FileCheck c = bad.files().stream().filter(f -> f.file().equals(SHARD)).findFirst().orElseThrow();
        assertEquals(VerifyReport.Status.CORRUPT, c.status());
        assertFalse(mm.status(TINY).installed(), "a corrupt model is not offered for loading");
        assertEquals(ModelStatus.State.PARTIAL, mm.status(TINY).state());

        DownloadResult repaired = mm.downloadNow(TINY, DownloadListener.NONE);
        assertEquals(Status.COMPLETED, repaired.status(), () -> String.valueOf(repaired.error()));
        assertEquals(hub.repos.get(MODEL).files.get(SHARD).length, repaired.bytesDownloaded());
        assertTrue(mm.verify(TINY, false, DownloadListener.NONE).ok());
    }

    @Test
    void removeDeletesTheSnapshotAndOnlyItsBlobs() throws Exception {
        ModelManager mm = new ModelManager(settings().withLinkMode(LinkMode.SYMLINK));
        assertEquals(Status.COMPLETED, mm.downloadNow(TINY, DownloadListener.NONE).status());
        // an unrelated repo in the same cache, and a second snapshot of the model sharing the tokenizer blob
        Path other = Files.createDirectories(cache.resolve("models--Org--Other/blobs"));
        Files.writeString(other.resolve("abc"), "x");
        Path modelDir = cache.resolve("models--ConvLLaVA--tiny-convllava");
        String tok = FakeHub.hex(FakeHub.sha("SHA-256", hub.repos.get(MODEL).files.get("tokenizer.model")));
        Path oldSnap = Files.createDirectories(modelDir.resolve("snapshots").resolve("0".repeat(40)));
        Files.createSymbolicLink(oldSnap.resolve("tokenizer.model"), Path.of("../../blobs/" + tok));

        RemoveReport rr = mm.remove(TINY);
        assertTrue(rr.bytesFreed() > 4_000_000, "freed " + rr.bytesFreed());
        assertFalse(Files.exists(cache.resolve("models--ConvLLaVA--tiny-convllava-convnext")));
        assertFalse(Files.exists(modelDir.resolve("refs/main")));
        assertFalse(Files.exists(modelDir.resolve("blobs").resolve(FakeHub.hex(FakeHub.sha("SHA-256", hub.repos.get(MODEL).files.get(SHARD))))));
        assertTrue(Files.isRegularFile(modelDir.resolve("blobs").resolve(tok)), "still used by the other snapshot");
        assertTrue(Files.isRegularFile(oldSnap.resolve("tokenizer.model")));
        assertTrue(Files.exists(other.resolve("abc")));
        assertEquals(ModelStatus.State.PARTIAL, mm.status(TINY).state());
        Files.delete(oldSnap.resolve("tokenizer.model"));
        Files.delete(oldSnap);
        mm.remove(TINY);
        assertFalse(Files.exists(modelDir));
        assertEquals(ModelStatus.State.NOT_INSTALLED, mm.status(TINY).state());
    }

    @Test
    void aStalledTransferIsDroppedAndResumed() throws Exception {
        hub.stallAfter.put(SHARD, new long[] {500_000, 1});
        ModelManager mm = new ModelManager(settings().withTimeouts(Duration.ofSeconds(5), Duration.ofMillis(400)));
        DownloadResult r = mm.downloadNow(TINY, DownloadListener.NONE);
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        assertArrayEquals(hub.repos.get(MODEL).files.get(SHARD), Files.readAllBytes(r.modelSnapshot().resolve(SHARD)));
        assertTrue(hub.fileRequests(SHARD).size() >= 2);
    }

    @Test
    void noServerAndNoDnsAreClearErrors() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        HubSettings down = HubSettings.of(java.net.URI.create("http://127.0.0.1:" + port), cache).withRetries(1, Duration.ofMillis(10), Duration.ofMillis(10));
        DownloadResult r = new ModelManager(down).downloadNow(TINY, DownloadListener.NONE);
        assertEquals(Kind.NETWORK, r.error().kind());
        assertTrue(r.error().getMessage().startsWith("cannot connect to 127.0.0.1:" + port), r.error().getMessage());

        HubSettings dns = HubSettings.of(java.net.URI.create("https://no-such-host.invalid"), cache).withRetries(0, Duration.ofMillis(10), Duration.ofMillis(10))
                .withTimeouts(Duration.ofSeconds(3), Duration.ofSeconds(3));
        DownloadResult d = new ModelManager(dns).downloadNow(TINY, DownloadListener.NONE);
        assertTrue(d.error().kind() == Kind.DNS || d.error().kind() == Kind.NETWORK, d.error().toString());
        assertTrue(d.error().getMessage().contains("no-such-host.invalid"), d.error().getMessage());
        assertFalse(Files.exists(cache.resolve("models--ConvLLaVA--tiny-convllava")));
    }

    @Test
    void aPartialFileLongerThanTheRealOneIsDiscarded() throws Exception {
        Path blobs = Files.createDirectories(cache.resolve("models--ConvLLaVA--tiny-convllava/blobs"));
        byte[] data = hub.repos.get(MODEL).files.get(SHARD);
        String sha = FakeHub.hex(FakeHub.sha("SHA-256", data));
        Files.write(blobs.resolve(sha + ".incomplete"), Arrays.copyOf(data, data.length + 10));
        DownloadResult r = new ModelManager(settings()).downloadNow(TINY, DownloadListener.NONE);
        assertEquals(Status.COMPLETED, r.status(), () -> String.valueOf(r.error()));
        assertArrayEquals(data, Files.readAllBytes(blobs.resolve(sha)));
    }
}
