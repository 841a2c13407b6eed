package ai.convllava.hub;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Validation of file names that come from the server. A name that could land outside the snapshot
 * folder is rejected (never sanitised): absolute paths, {@code ..} or {@code .} segments, empty
 * segments, backslashes, drive letters and colons, control characters, Windows device names.
 */
public final class FileNames {
    private FileNames() {
    }

    public static String check(String name) {
        String why = problem(name);
        if (why != null) {
            throw new DownloadException(DownloadException.Kind.BAD_FILE_NAME, "refusing the file name " + quote(name)
                    + " sent by the server: " + why + ". Nothing was written; the repository or mirror may be compromised.");
        }
        return name;
    }

    static String problem(String name) {
        if (name == null || name.isEmpty()) {
            return "it is empty";
        }
        if (name.length() > 1024) {
            return "it is too long";
        }
        if (name.startsWith("/")) {
            return "it is an absolute path";
        }
        if (name.indexOf('\\') >= 0) {
            return "it contains a backslash";
        }
        if (name.indexOf(':') >= 0) {
            return "it contains a colon (drive letter or stream name)";
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return "it contains a control character";
            }
        }
        for (String seg : name.split("/", -1)) {
            if (seg.isEmpty()) {
                return "it has an empty path segment";
            }
            if (seg.equals(".") || seg.equals("..")) {
                return "it contains a '" + seg + "' segment";
            }
            if (seg.length() > 255) {
                return "a path segment is longer than 255 characters";
            }
            String base = seg.toUpperCase(Locale.ROOT);
            int dot = base.indexOf('.');
            base = dot >= 0 ? base.substring(0, dot) : base;
            if (base.matches("CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9]") || seg.endsWith(".") || seg.endsWith(" ")) {
                return "it contains a name Windows reserves";
            }
        }
        return null;
    }

    /** {@code dir.resolve(name)}, checked once more to stay inside {@code dir}. */
    static Path resolveInside(Path dir, String name) {
        check(name);
        Path base = dir.toAbsolutePath().normalize();
        Path p = base.resolve(name).normalize();
        if (!p.startsWith(base) || p.equals(base)) {
            throw new DownloadException(DownloadException.Kind.BAD_FILE_NAME, "refusing the file name " + quote(name)
                    + ": it resolves outside " + dir);
        }
        return p;
    }

    /** The name for a message, with control characters escaped so a hostile name cannot forge output. */
    static String quote(String name) {
        if (name == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder("'");
        for (int i = 0; i < Math.min(name.length(), 200); i++) {
            char c = name.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return sb.append(name.length() > 200 ? "...'" : "'").toString();
    }
}
