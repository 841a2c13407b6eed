package ai.convllava.model.quant;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The native decode kernels ({@code model/src/main/c/quant_kernels.c}): int8 weights or 4-bit quants times an
 * activation row quantized to int8 ({@link QuantizedActivation}), multiplied in integers by AVX2's
 * {@code vpmaddubsw}. JDK 17's Vector API has no such instruction, and the Java kernels, which widen each weight
 * to float, are bound by that arithmetic at half the machine's read bandwidth or less (docs/bench/quant.md,
 * "A native kernel").
 *
 * <p>The library is built into the model jar for Linux x86-64 and loaded from there (copied to a file first:
 * a library cannot be loaded from inside a jar). Where it cannot load (another OS or CPU, a CPU without AVX2,
 * a temp directory mounted noexec and no cache directory either) or the system property {@value #PROPERTY} is
 * {@code java}, the Java kernels run: slower, never wrong. {@link #status()} says which and why.
 */
public final class NativeKernels {
    private static final Logger LOG = LoggerFactory.getLogger(NativeKernels.class);
    /** {@code -Dconvllava.kernels=java} runs the Java kernels even where the native ones load (comparisons, bug hunts). */
    static final String PROPERTY = "convllava.kernels";
    private static final String RESOURCE = "/native/linux-x86_64/libconvllava_quant.so";
    private static final String STATUS;
    private static final boolean AVAILABLE;
    /** Whether the 4-bit kernel's 512-bit form runs here (AVX-512 BW, VL and VNNI). */
    private static final boolean WIDE;

    static {
        String[] why = new String[1];
        AVAILABLE = load(why);
        WIDE = AVAILABLE && wideSupported();
        STATUS = WIDE ? why[0].replace("(AVX2)", "(AVX2, 4-bit in AVX-512)") : why[0];
        LOG.debug("quantized decode kernels: {}", STATUS);
    }

    private NativeKernels() {
    }

    /** Whether the native kernels run on this machine. */
    static boolean available() {
        return AVAILABLE;
    }

    /** Whether the 4-bit kernel's 512-bit form runs on this machine (the native kernels {@link #available} too). */
    static boolean wide() {
        return WIDE;
    }

    /**
     * Which decode kernels run, and why not the native ones where they do not: for logs, the self-test and the bench.
     * Touches no Vector API class, so it answers in a JVM started without {@code jdk.incubator.vector} too.
     */
    public static String status() {
        return STATUS;
    }

    private static boolean load(String[] why) {
        if ("java".equalsIgnoreCase(System.getProperty(PROPERTY, ""))) {
            why[0] = "Java Vector API (-D" + PROPERTY + "=java)";
            return false;
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            why[0] = "Java Vector API (the native kernels are built for Linux x86-64, this is " + os + " " + arch + ")";
            return false;
        }
        List<String> failures = new ArrayList<>();
        for (Path dir : candidateDirectories()) {
            try {
                Path lib = extract(dir);
                System.load(lib.toString());
                if (!supported()) {
                    why[0] = "Java Vector API (this CPU lacks AVX2, FMA or F16C)";
                    return false;
                }
                why[0] = "native int8 (AVX2)";
                LOG.debug("native quantized kernels loaded from {}", lib);
                return true;
            } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
                failures.add(dir + ": " + e.getMessage());
            }
        }
        why[0] = "Java Vector API (the native kernels did not load: " + String.join("; ", failures) + ")";
        LOG.warn("quantized weights decode with the slower Java kernels: {}", why[0]);
        return false;
    }

    /** The temp directory, then the user's cache (a temp directory mounted noexec cannot load a library). */
    private static List<Path> candidateDirectories() {
        List<Path> dirs = new ArrayList<>();
        dirs.add(Path.of(System.getProperty("java.io.tmpdir")));
        String cache = System.getenv("XDG_CACHE_HOME");
        dirs.add(cache != null && !cache.isBlank() ? Path.of(cache, "convllava") : Path.of(System.getProperty("user.home"), ".cache", "convllava"));
        return dirs;
    }

    /** The library copied from the jar into a new file in {@code dir}, removed when the JVM exits. */
    private static Path extract(Path dir) throws IOException {
        try (InputStream in = NativeKernels.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IOException(RESOURCE + " is not in the jar (built without gcc, or not for Linux x86-64)");
            }
            Files.createDirectories(dir);
            Path lib = Files.createTempFile(dir, "libconvllava_quant-", ".so");
            lib.toFile().deleteOnExit();
            Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
            return lib;
        }
    }

    /**
     * y[yOff + r] = row r of a matrix's array {@code w} ({@code rowBytes} per row, in-memory blocks of {@code format})
     * times the activation, for rows {@code [from, to)} of that array; the activation in {@link #activation}'s form for
     * the format; {@code wide}: Q4_K's 512-bit kernel, which must be {@link #wide} here. Every length is checked here: the C
     * code trusts them.
     */
    static void rows(QuantFormat format, byte[] w, int rowBytes, int cols, int from, int to, int yOff, QuantizedActivation x, float[] y,
            boolean wide) {
        if (format == QuantFormat.Q4_K) {
            QuantizedActivation.Groups g = x.groups();
            check(w, rowBytes, cols, from, to, yOff, x, y, QuantizedMatrix.Q4K_BLOCK * (cols / 256));
            if (g == null || g.scales().length < cols / 256 || g.factors().length < cols / 32 || g.factoredSums().length < cols / 32) {
                throw new IllegalArgumentException("native Q4_K kernel: the activation of " + x.quants().length
                        + " values is not quantized in groups of 256 for " + cols + " columns");
            }
            if (wide && !WIDE) {
                throw new IllegalStateException("native Q4_K kernel: the 512-bit form does not run on this CPU");
            }
            q4kRows(wide, w, rowBytes, cols, from, to, yOff, x.quants(), g.scales(), g.factors(), g.factoredSums(), y);
        } else {
            check(w, rowBytes, cols, from, to, yOff, x, y, 34 * (cols / 32));
            q8Rows(w, rowBytes, cols, from, to, yOff, x.quants(), x.scales(), y);
        }
    }

    /**
     * {@code x[off, off + n)} quantized as the native kernel for {@code format} multiplies it: in groups of 256 for Q4_K,
     * whose kernel sums a whole block in integers, blocks of 32 each with its own scale for Q8_0.
     */
    static QuantizedActivation activation(QuantFormat format, float[] x, int off, int n) {
        return format == QuantFormat.Q4_K ? QuantizedActivation.quantizeGrouped(x, off, n) : QuantizedActivation.quantize(x, off, n);
    }

    private static void check(byte[] w, int rowBytes, int cols, int from, int to, int yOff, QuantizedActivation x, float[] y, int needRowBytes) {
        if (rowBytes != needRowBytes || from < 0 || to < from || yOff < 0 || (long) to * rowBytes > w.length || (long) yOff + to > y.length
                || x.quants().length < cols || x.scales().length < cols / 32 || x.sums().length < cols / 32) {
            throw new IllegalArgumentException("native kernel: rows " + from + ".." + to + " of " + rowBytes + " bytes (" + needRowBytes
                    + " expected for " + cols + " columns) over " + w.length + " bytes of blocks, outputs from " + yOff + " of " + y.length
                    + ", an activation of " + x.quants().length + " values");
        }
    }

    private static native boolean supported();

    /** KV heads {@code [g0, g1)} of {@link Int8KvAttention#attend}, which checks every size before calling. */
    static native void attendInt8Heads(float[] q, ByteBuffer keys, ByteBuffer keyScales, ByteBuffer values, ByteBuffer valueScales,
            int capacity, int n, int headDim, int rep, int g0, int g1, float scale, float[] out, float[] probs);

    private static native void q8Rows(byte[] w, int rowBytes, int cols, int from, int to, int yOff, byte[] xq, float[] xd, float[] y);

    private static native boolean wideSupported();

    private static native void q4kRows(boolean wide, byte[] w, int rowBytes, int cols, int from, int to, int yOff, byte[] xq, float[] groupScales,
            short[] factors, int[] factoredSums, float[] y);
}
