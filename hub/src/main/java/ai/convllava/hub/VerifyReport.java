package ai.convllava.hub;

import java.util.List;

/** The result of re-hashing an installed variant: one entry per file. */
public record VerifyReport(ModelVariant variant, List<FileCheck> files) {
    public enum Status {
        /** Hash (sha256 or git blob id) matches. */
        OK,
        /** Hash or size mismatch: the bad file was deleted, a download fetches it again. */
        CORRUPT,
        /** Listed or linked but not on disk. */
        MISSING,
        /** No reference hash offline (a copied file): checked for presence only; use online verification. */
        UNCHECKED
    }

    public record FileCheck(String repo, String file, Status status, String detail) {
        /** Corrupt or missing. */
        public boolean problem() {
            return status == Status.CORRUPT || status == Status.MISSING;
        }
    }

    public VerifyReport {
        files = List.copyOf(files);
    }

    /** No file is corrupt or missing, and there is something installed. */
    public boolean ok() {
        return !files.isEmpty() && problems() == 0;
    }

    /** Files that are corrupt or missing (a download fetches them again). */
    public long problems() {
        return files.stream().filter(FileCheck::problem).count();
    }
}
