package ai.convllava.hub;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.LongConsumer;

/** sha256 of LFS files, and the git blob id (sha1 of "blob {size}\0" + content) of regular files. */
final class Hashes {
    private Hashes() {
    }

    /** The digest whose hex value names a verified file: sha256 for LFS files, the git blob sha1 otherwise. */
    static MessageDigest forFile(RepoFile f) {
        MessageDigest md = digest(f.lfs() ? "SHA-256" : "SHA-1");
        if (!f.lfs()) {
            md.update(("blob " + f.size() + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        return md;
    }

    static MessageDigest digest(String alg) {
        try {
            return MessageDigest.getInstance(alg);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(alg + " is missing from this Java runtime", e);
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** Hashes a whole file, reporting bytes read; checks {@code cancel} between chunks. */
    static String hashFile(Path p, MessageDigest md, CancelToken cancel, LongConsumer progress) throws IOException {
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(p)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
                progress.accept(n);
                if (cancel != null) {
                    cancel.throwIfCancelled();
                }
            }
        }
        return hex(md.digest());
    }

    /** sha256 (64 hex) or git blob id (40 hex) of a file, to check it against a blob name. */
    static String ofFileLike(Path p, String expected, CancelToken cancel, LongConsumer progress) throws IOException {
        long size = Files.size(p);
        MessageDigest md = expected.length() == 64 ? digest("SHA-256") : digest("SHA-1");
        if (expected.length() == 40) {
            md.update(("blob " + size + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        return hashFile(p, md, cancel, progress);
    }
}
