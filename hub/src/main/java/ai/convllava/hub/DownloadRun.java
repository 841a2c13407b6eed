package ai.convllava.hub;

import ai.convllava.hub.DownloadException.Kind;
import ai.convllava.hub.DownloadProgress.Phase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One download of a variant's repos: list, plan against the cache, check free space, fetch the
 * missing files in parallel (resuming partial data with Range, hashing while writing), then make
 * the snapshots and, last, the refs.
 */
final class DownloadRun {
    private static final Logger LOG = LoggerFactory.getLogger(DownloadRun.class);
    private static final long RESET_RETRIES_AFTER = 1 << 20; // an attempt that got 1 MiB made progress: its failure starts a new count

    private final ModelVariant variant;
    private final HubSettings settings;
    private final HubCache cache;
    private final HubClient client;
    private final DownloadListener listener;
    private final CancelToken cancel;            // user cancel and internal abort
    private volatile boolean userCancelled;
    private final AtomicReference<DownloadException> firstFailure = new AtomicReference<>();

    private final List<Job> jobs = new ArrayList<>();
    private final AtomicLong downloaded = new AtomicLong();
    private final AtomicLong reused = new AtomicLong();
    private final AtomicInteger filesDone = new AtomicInteger();
    private volatile Phase phase = Phase.LISTING;
    private final ArrayDeque<long[]> speedSamples = new ArrayDeque<>(); // {nanos, downloaded}
    private volatile double speed;

    /** One file to have in the cache. */
    private final class Job {
        final RepoInfo repo;
        final RepoFile file;
        volatile String blobName;
        final AtomicLong done = new AtomicLong();
        volatile FileState state = FileState.QUEUED;
        volatile int attempt;
        volatile String message;
        boolean inSnapshot;   // already in snapshots/{commit}: nothing to link

        Job(RepoInfo repo, RepoFile file) {
            this.repo = repo;
            this.file = file;
            this.blobName = file.blobName();
        }

        FileProgress progress() {
            return new FileProgress(repo.repo(), file.name(), file.size(), done.get(), state, attempt, message);
        }

        void set(FileState s, String msg) {
            state = s;
            message = msg;
            emitFile(this);
        }
    }

    DownloadRun(ModelVariant variant, HubSettings settings, HubCache cache, DownloadListener listener, CancelToken cancel) {
        this.variant = variant;
        this.settings = settings;
        this.cache = cache;
        this.client = new HubClient(settings);
        this.listener = listener == null ? DownloadListener.NONE : listener;
        this.cancel = cancel;
    }

    void markUserCancelled() {
        userCancelled = true;
    }

    DownloadResult run() {
        long t0 = System.nanoTime();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "model-download-ticker"));
        try {
            ticker.scheduleAtFixedRate(this::tick, 200, 200, TimeUnit.MILLISECONDS);
            Map<String, Path> snaps = execute();
            phase = Phase.DONE;
            emitProgress();
            return new DownloadResult(variant, DownloadResult.Status.COMPLETED, snaps.get(variant.modelRepo()),
                    variant.towerRepo() == null ? null : snaps.get(variant.towerRepo()), downloaded.get(), reused.get(), since(t0), null);
        } catch (DownloadException e) {
            boolean cancelled = userCancelled || e.kind() == Kind.CANCELLED && firstFailure.get() == null;
            DownloadException err = firstFailure.get() != null ? firstFailure.get() : e;
            phase = cancelled ? Phase.CANCELLED : Phase.FAILED;
            for (Job j : jobs) {
                if (j.state != FileState.DONE && j.state != FileState.PRESENT && j.state != FileState.FAILED) {
                    j.set(cancelled ? FileState.CANCELLED : FileState.QUEUED, null);
                }
            }
            emitProgress();
            if (cancelled) {
                note("download of " + variant.id() + " cancelled; partial files are kept and the next download resumes them");
                return new DownloadResult(variant, DownloadResult.Status.CANCELLED, null, null, downloaded.get(), reused.get(), since(t0), null);
            }
            LOG.warn("download of {} failed: {}", variant.id(), err.getMessage());
            return new DownloadResult(variant, DownloadResult.Status.FAILED, null, null, downloaded.get(), reused.get(), since(t0), err);
        } catch (RuntimeException e) {
            LOG.error("download of {} failed unexpectedly", variant.id(), e);
            phase = Phase.FAILED;
            emitProgress();
            return new DownloadResult(variant, DownloadResult.Status.FAILED, null, null, downloaded.get(), reused.get(), since(t0),
                    new DownloadException(Kind.IO, "the download failed unexpectedly: " + e, e));
        } finally {
            ticker.shutdownNow();
        }
    }

    private Map<String, Path> execute() {
        // 1. what the Hub has (every file name validated before anything is written)
        List<RepoInfo> infos = new ArrayList<>();
        for (String repo : variant.repos()) {
            RepoInfo info = client.modelInfo(repo, variant.revision(), cancel, this::note);
            infos.add(info);
            for (RepoFile f : info.files()) {
                jobs.add(new Job(info, f));
            }
        }
        phase = Phase.PREPARING;
        emitProgress();
        // 2. what the cache already has
        List<Job> todo = new ArrayList<>();
        long needed = 0;
        try {
            for (Job j : jobs) {
                Path inSnap = FileNames.resolveInside(cache.snapshotDir(j.repo.repo(), j.repo.commit()), j.file.name());
                if (Files.isSymbolicLink(inSnap)) {
                    // a link made by us or huggingface_hub: usable when its blob is there with the right size (and name, when known)
                    String linked = cache.linkedBlob(j.repo.repo(), inSnap).orElse(null);
                    if (linked != null && linked.matches("[0-9a-zA-Z_-]{8,128}") && (j.blobName == null || j.blobName.equals(linked))) {
                        Path lb = cache.blob(j.repo.repo(), linked);
                        if (Files.isRegularFile(lb, LinkOption.NOFOLLOW_LINKS) && Files.size(lb) == j.file.size()) {
                            j.blobName = linked;
                        }
                    }
                }
                Path blob = j.blobName == null ? null : cache.blob(j.repo.repo(), j.blobName);
                boolean linkOk = Files.isSymbolicLink(inSnap) && blob != null && Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS)
                        && Files.size(blob) == j.file.size() && cache.linkedBlob(j.repo.repo(), inSnap).filter(j.blobName::equals).isPresent();
                boolean copyOk = !Files.isSymbolicLink(inSnap) && Files.isRegularFile(inSnap, LinkOption.NOFOLLOW_LINKS)
                        && Files.size(inSnap) == j.file.size();
                if (linkOk || copyOk) {
                    j.inSnapshot = true;
                    present(j);
                } else if (blob != null && Files.isRegularFile(blob, LinkOption.NOFOLLOW_LINKS) && Files.size(blob) == j.file.size()) {
                    present(j);
                } else {
                    Path inc = cache.incomplete(j.repo.repo(), incompleteName(j));
                    long have = Files.isRegularFile(inc, LinkOption.NOFOLLOW_LINKS) ? Files.size(inc) : 0;
                    needed += j.file.size() - Math.min(have, j.file.size());
                    todo.add(j);
                }
            }
        } catch (IOException e) {
            throw new DownloadException(Kind.IO, "cannot read the cache " + cache.root() + ": " + e.getMessage(), e);
        }
        // 3. free space, before downloading anything
        if (needed > 0) {
            Path blobs = cache.blobsDir(variant.modelRepo());
            try {
                Files.createDirectories(blobs);
                for (String r : variant.repos()) {
                    Files.createDirectories(cache.blobsDir(r));
                }
                long free = settings.freeSpace().usableBytes(blobs);
                long margin = needed / 100;
                if (free < needed + margin) {
                    throw new DownloadException(Kind.DISK_FULL, "not enough disk space in " + cache.root() + ": the download needs "
                            + bytes(needed + margin) + " more, " + bytes(free) + " is free. Free some space, or set HF_HOME to a folder on a larger disk");
                }
                note("need " + bytes(needed) + " (" + todo.size() + " files), " + bytes(free) + " free in " + cache.root());
            } catch (IOException e) {
                throw new DownloadException(Kind.IO, "cannot prepare " + blobs + ": " + e.getMessage(), e);
            }
        }
        // 4. the files, in parallel; the first hard failure stops the others
        phase = Phase.DOWNLOADING;
        emitProgress();
        if (!todo.isEmpty()) {
            ExecutorService pool = Executors.newFixedThreadPool(Math.min(settings.parallelFiles(), todo.size()),
                    r -> daemon(r, "model-download"));
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (Job j : todo) {
                    fs.add(pool.submit(() -> fetchGuarded(j)));
                }
                for (Future<?> f : fs) {
                    try {
                        f.get();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        cancel.cancel();
                        throw new DownloadException(Kind.CANCELLED, "download interrupted");
                    } catch (ExecutionException e) {
                        Throwable c = e.getCause();
                        fail(c instanceof DownloadException de ? de : new DownloadException(Kind.IO, "download failed: " + c, c));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            if (firstFailure.get() != null) {
                throw firstFailure.get();
            }
            cancel.throwIfCancelled();
        }
        // 5. snapshots only now that every file is verified; refs/main last
        phase = Phase.FINISHING;
        emitProgress();
        Map<String, Path> snaps = new LinkedHashMap<>();
        try {
            for (RepoInfo info : infos) {
                Map<String, String> files = new LinkedHashMap<>();
                for (Job j : jobs) {
                    if (j.repo == info && !j.inSnapshot) {
                        files.put(j.file.name(), j.blobName);
                    }
                }
                snaps.put(info.repo(), cache.createSnapshot(info.repo(), info.commit(), files));
            }
            if (!variant.revision().equals(infos.get(0).commit())) {
                for (RepoInfo info : infos) {
                    cache.writeRef(info.repo(), variant.revision(), info.commit());
                }
            }
        } catch (IOException e) {
            throw new DownloadException(Kind.IO, "cannot create the snapshot folders in " + cache.root() + ": " + e.getMessage(), e);
        }
        return snaps;
    }

    private void present(Job j) {
        j.done.set(j.file.size());
        reused.addAndGet(j.file.size());
        filesDone.incrementAndGet();
        j.set(FileState.PRESENT, null);
    }

    private void fetchGuarded(Job j) {
        try {
            fetch(j);
            filesDone.incrementAndGet();
            j.set(FileState.DONE, null);
        } catch (DownloadException e) {
            if (e.kind() == Kind.CANCELLED) {
                j.set(FileState.CANCELLED, null);
                return; // the user's cancel, or another file's failure already recorded
            }
            j.set(FileState.FAILED, e.getMessage());
            fail(e);
            throw e;
        }
    }

    /** Records the first hard failure and stops the other files (their partial data stays for a resume). */
    private void fail(DownloadException e) {
        if (e.kind() == Kind.CANCELLED && (userCancelled || firstFailure.get() != null)) {
            return;
        }
        if (firstFailure.compareAndSet(null, e)) {
            cancel.cancel();
        }
    }

    /** Attempts with bounded retries for transient failures, and one fresh re-download after a hash mismatch. */
    private void fetch(Job j) {
        int failures = 0;
        boolean redownloaded = false;
        while (true) {
            cancel.throwIfCancelled();
            AtomicLong got = new AtomicLong();
            try {
                attempt(j, got);
                return;
            } catch (DownloadException e) {
                if (cancel.isCancelled()) {
                    throw new DownloadException(Kind.CANCELLED, "download cancelled");
                }
                if (e.kind() == Kind.INTEGRITY && !redownloaded) {
                    redownloaded = true;
                    j.attempt++;
                    j.set(FileState.RETRYING, e.getMessage() + "; downloading it again");
                    note(e.getMessage() + "; downloading it again");
                    continue;
                }
                if (!e.transientFailure()) {
                    throw e;
                }
                if (got.get() >= RESET_RETRIES_AFTER) {
                    failures = 0;
                }
                if (failures >= settings.maxRetries()) {
                    throw e;
                }
                failures++;
                j.attempt++;
                Duration wait = client.waitBefore(failures, e);
                String msg = j.file.name() + ": " + e.getMessage() + "; retry " + failures + " of " + settings.maxRetries() + " in "
                        + HubClient.seconds(wait);
                j.set(FileState.RETRYING, msg);
                note(msg);
                cancel.sleep(wait);
            }
        }
    }

    private String incompleteName(Job j) {
        if (j.blobName != null) {
            return j.blobName;
        }
        // a regular file the server gave no blob id for: a stable name until its hash is known
        MessageDigest md = Hashes.digest("SHA-256");
        md.update((j.repo.repo() + "@" + j.repo.commit() + "/" + j.file.name()).getBytes(StandardCharsets.UTF_8));
        return "convllava-" + Hashes.hex(md.digest()).substring(0, 40);
    }

    /** One try: hash kept partial data, request the rest with Range, append while hashing, verify, publish the blob. */
    private void attempt(Job j, AtomicLong got) {
        RepoFile f = j.file;
        String repo = j.repo.repo();
        Path inc = cache.incomplete(repo, incompleteName(j));
        String hash;
        String etag = null;
        try {
            Files.createDirectories(inc.getParent());
            if (Files.isSymbolicLink(inc)) {
                Files.delete(inc); // never write through a link planted in the cache
            }
            try (FileChannel ch = FileChannel.open(inc, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS)) {
                FileLock lock = tryLock(ch);
                if (lock == null) {
                    throw new DownloadException(Kind.IO, f.name() + " is being downloaded by another program right now (" + inc
                            + " is locked): wait for it to finish");
                }
                long have = ch.size();
                long old = j.done.getAndSet(0);
                if (have > f.size()) {
                    ch.truncate(0);
                    have = 0;
                }
                MessageDigest md = Hashes.forFile(f);
                if (have > 0) {
                    j.set(FileState.HASHING_PARTIAL, null);
                    hashPrefix(ch, have, md, j);
                    if (old == 0) {
                        reused.addAndGet(have);
                    }
                    note(f.name() + ": resuming at " + bytes(have) + " of " + bytes(f.size()));
                }
                j.done.set(have);
                if (have < f.size()) {
                    HubClient.Body body = client.openFile(repo, j.repo.commit(), f.name(), have, cancel);
                    if (body.status() == 416) {
                        ch.truncate(0);
                        j.done.set(0);
                        throw new DownloadException(Kind.NETWORK, "the server refused to resume " + f.name() + " at " + have + "; starting over");
                    }
                    if (have > 0 && (body.status() == 200 || body.offset() != have)) {
                        LOG.info("{}: the server ignored the resume point; downloading from the start", f.name());
                        ch.truncate(0);
                        md = Hashes.forFile(f);
                        have = 0;
                        j.done.set(0);
                        if (body.status() == 206) {
                            body.stream().close();
                            throw new DownloadException(Kind.NETWORK, "the server resumed " + f.name() + " at the wrong offset " + body.offset());
                        }
                    }
                    etag = body.etag();
                    j.set(FileState.DOWNLOADING, null);
                    have = stream(body, ch, have, md, j, got);
                }
                j.set(FileState.VERIFYING, null);
                hash = Hashes.hex(md.digest());
                String expected = f.lfs() ? f.sha256() : f.gitBlobId();
                String etagHash = !f.lfs() && etag != null && etag.matches("[0-9a-f]{40}") ? etag : null;
                if (have != f.size() || expected != null && !expected.equals(hash) || etagHash != null && !etagHash.equals(hash)) {
                    ch.truncate(0);
                    j.done.set(0);
                    String want = expected != null ? expected : etagHash;
                    throw new DownloadException(Kind.INTEGRITY, f.name() + " of " + repo + " is corrupt: " + (have != f.size()
                            ? have + " bytes instead of " + f.size() : (f.lfs() ? "sha256 " : "git hash ") + hash + " instead of " + want)
                            + "; the bad data was discarded");
                }
                ch.force(true);
            }
            if (j.blobName == null) {
                j.blobName = hash;
            }
            Path blob = cache.blob(repo, j.blobName);
            try {
                Files.move(inc, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(inc, blob, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            if (cancel.isCancelled()) {
                throw new DownloadException(Kind.CANCELLED, "download cancelled");
            }
            if (e instanceof ClosedByInterruptException) {
                Thread.interrupted(); // a stall abort raced with a write: the data on disk is intact, resume
                throw new DownloadException(Kind.NETWORK, "the transfer of " + f.name() + " was interrupted", e);
            }
            throw new DownloadException(Kind.IO, "cannot write " + inc + ": " + e.getMessage()
                    + (e.getMessage() != null && e.getMessage().toLowerCase(Locale.ROOT).contains("space") ? " (disk full?)" : ""), e);
        }
    }

    private static FileLock tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    private void hashPrefix(FileChannel ch, long have, MessageDigest md, Job j) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        long pos = 0;
        while (pos < have) {
            cancel.throwIfCancelled();
            buf.clear().limit((int) Math.min(buf.capacity(), have - pos));
            int n = ch.read(buf, pos);
            if (n <= 0) {
                throw new IOException("cannot read back the partial file");
            }
            buf.flip();
            md.update(buf);
            pos += n;
            j.done.set(pos);
        }
    }

    /** Appends the body at {@code have}, hashing as it goes; returns the new length. */
    private long stream(HubClient.Body body, FileChannel ch, long have, MessageDigest md, Job j, AtomicLong got) throws IOException {
        RepoFile f = j.file;
        CancelToken.Transfer t = cancel.open(body.stream());
        byte[] buf = new byte[1 << 16];
        ch.position(have);
        try (InputStream in = body.stream()) {
            while (true) {
                int n;
                try {
                    n = in.read(buf);
                } catch (IOException e) {
                    if (cancel.isCancelled()) {
                        throw new DownloadException(Kind.CANCELLED, "download cancelled");
                    }
                    throw new DownloadException(Kind.NETWORK, t.stalled
                            ? "no data from " + body.uri().getHost() + " for " + HubClient.seconds(settings.readTimeout()) + " while downloading " + f.name()
                            : "the connection dropped after " + bytes(have) + " of " + bytes(f.size()) + " of " + f.name(), e);
                }
                if (n < 0) {
                    break;
                }
                if (have + n > f.size()) {
                    throw new DownloadException(Kind.INTEGRITY, f.name() + ": the server sent more than the " + f.size() + " bytes listed");
                }
                ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
                md.update(buf, 0, n);
                have += n;
                got.addAndGet(n);
                downloaded.addAndGet(n);
                j.done.set(have);
                t.touch();
            }
        } finally {
            cancel.close(t);
        }
        if (have < f.size()) {
            throw new DownloadException(Kind.NETWORK, "the connection closed after " + bytes(have) + " of " + bytes(f.size()) + " of " + f.name());
        }
        return have;
    }

    // ---- progress ----

    private void tick() {
        try {
            cancel.abortStalled(settings.readTimeout());
            emitProgress();
        } catch (RuntimeException e) {
            LOG.warn("progress listener failed", e);
        }
    }

    private synchronized void emitProgress() {
        long now = System.nanoTime();
        long d = downloaded.get();
        speedSamples.addLast(new long[] {now, d});
        while (speedSamples.size() > 2 && now - speedSamples.peekFirst()[0] > 5_000_000_000L) {
            speedSamples.removeFirst();
        }
        long[] first = speedSamples.peekFirst();
        double secs = (now - first[0]) / 1e9;
        speed = secs > 0.3 ? (d - first[1]) / secs : speed;
        long total = 0;
        long done = 0;
        List<FileProgress> files = new ArrayList<>(jobs.size());
        for (Job j : jobs) {
            total += j.file.size();
            done += Math.min(j.done.get(), j.file.size());
            files.add(j.progress());
        }
        Duration eta = speed > 1 && phase == Phase.DOWNLOADING ? Duration.ofSeconds((long) Math.ceil((total - done) / speed)) : null;
        try {
            listener.onProgress(new DownloadProgress(phase, done, total, speed, eta, filesDone.get(), jobs.size(), files));
        } catch (RuntimeException e) {
            LOG.warn("download listener failed", e);
        }
    }

    private synchronized void emitFile(Job j) {
        try {
            listener.onFile(j.progress());
        } catch (RuntimeException e) {
            LOG.warn("download listener failed", e);
        }
    }

    private synchronized void note(String s) {
        LOG.info(s);
        try {
            listener.onNote(s);
        } catch (RuntimeException e) {
            LOG.warn("download listener failed", e);
        }
    }

    static String bytes(long b) {
        if (b < 1000) {
            return b + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double v = b;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    private static Duration since(long t0) {
        return Duration.ofNanos(System.nanoTime() - t0);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
