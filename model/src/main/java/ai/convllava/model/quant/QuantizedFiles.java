package ai.convllava.model.quant;

import ai.convllava.model.api.WeightFormat;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

/**
 * Where a model's quantized weights live ({@code convllava-q8_0.gguf}, {@code convllava-q4_k.gguf} in
 * the model's folder, beside the checkpoint they were made from) and what they record about it: the
 * format, and each source shard's name, size, modification time and SHA-256. A file made from other
 * shards is refused. The check costs nothing in the usual cases: a Hugging Face cache shard is a
 * symlink to a blob named by its SHA-256, and a plain file whose size and time are unchanged is taken
 * as unchanged; only a plain shard with a new time (copied, touched) is hashed again.
 */
public final class QuantizedFiles {
    public static final String ARCHITECTURE = "convllava";
    public static final String FORMAT_KEY = "convllava.quant.format";
    public static final String SOURCE_FILES_KEY = "convllava.source.files";
    public static final String SOURCE_SIZE_PREFIX = "convllava.source.size.";
    public static final String SOURCE_MTIME_PREFIX = "convllava.source.mtime.";
    public static final String SOURCE_SHA256_PREFIX = "convllava.source.sha256.";
    private static final Logger LOG = LoggerFactory.getLogger(QuantizedFiles.class);
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private QuantizedFiles() {
    }

    /** The quantized file of {@code format} for the model in {@code modelDir}. */
    public static Path path(Path modelDir, WeightFormat format) {
        return modelDir.resolve("convllava-" + format.optionName() + ".gguf");
    }

    /**
     * The model's quantized weights of {@code format}, checked against the shards they were made from, or
     * null when there is no such file. {@code hashChanged}: whether a plain shard whose time changed is
     * hashed (a load does; a quick status for a list does not, and takes it as unchanged).
     *
     * @throws GgufException when the file is broken, of another format, or made from other shards (naming them)
     */
    public static GgufFile open(Path modelDir, WeightFormat format, List<Path> shards, boolean hashChanged, BooleanSupplier cancelled) {
        Path p = path(modelDir, format);
        if (!Files.isRegularFile(p)) {
            return null;
        }
        GgufFile g = GgufFile.open(p);
        try {
            String f = g.string(FORMAT_KEY);
            if (!format.optionName().equals(f)) {
                throw new GgufException(p.getFileName() + " holds " + f + " weights, not " + format.optionName());
            }
            String again = ": quantize again (convllava models quantize --model " + modelDir + " --format " + format.optionName() + ")";
            List<String> names = new ArrayList<>();
            for (Path s : shards) {
                names.add(s.getFileName().toString());
            }
            Object recorded = g.metadata().get(SOURCE_FILES_KEY);
            if (!names.equals(recorded)) {
                throw new GgufException(p.getFileName() + " was made from " + recorded + ", but the checkpoint is " + names + again);
            }
            for (Path s : shards) {
                String name = s.getFileName().toString();
                Object size = g.metadata().get(SOURCE_SIZE_PREFIX + name);
                long now = Files.size(s);
                if (!(size instanceof Long n) || n != now) {
                    throw new GgufException(p.getFileName() + " was made from a " + name + " of " + size + " bytes; it now has " + now + again);
                }
                Object sha = g.metadata().get(SOURCE_SHA256_PREFIX + name);
                String blob = blobSha256(s);
                Object mtime = g.metadata().get(SOURCE_MTIME_PREFIX + name);
                boolean sameTime = mtime instanceof Long t && t == Files.getLastModifiedTime(s).toMillis();
                if (blob == null && (sameTime || !hashChanged)) {
                    continue;
                }
                if (blob == null) {
                    LOG.info("{} changed time since {} was made: checking its SHA-256", name, p.getFileName());
                }
                String actual = blob != null ? blob : sha256(s, cancelled);
                if (!actual.equals(sha)) {
                    throw new GgufException(p.getFileName() + " was made from a " + name + " with SHA-256 " + sha + "; it now has " + actual + again);
                }
            }
            return g;
        } catch (IOException e) {
            g.close();
            throw new GgufException(p + ": the checkpoint's shards cannot be read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    /**
     * A shard's SHA-256: the name of its blob when it is a Hugging Face cache symlink (blobs are named by
     * their SHA-256, and the downloader checks them), else read and hashed.
     */
    public static String sha256(Path file, BooleanSupplier cancelled) throws IOException {
        String blob = blobSha256(file);
        if (blob != null) {
            return blob;
        }
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                if (cancelled.getAsBoolean()) {
                    throw new CancellationException("reading " + file.getFileName() + " was cancelled");
                }
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String blobSha256(Path file) throws IOException {
        if (Files.isSymbolicLink(file)) {
            String blob = Files.readSymbolicLink(file).getFileName().toString();
            if (SHA256.matcher(blob).matches()) {
                return blob;
            }
        }
        return null;
    }
}
