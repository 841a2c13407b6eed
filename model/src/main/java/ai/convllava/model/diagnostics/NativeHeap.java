package ai.convllava.model.diagnostics;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.Optional;

/**
 * Hands the memory glibc's allocator keeps after a big transient job back to the system.
 *
 * <p>The launcher runs glibc malloc without trimming ({@code GLIBC_TUNABLES}: no mmap for big blocks,
 * a trim threshold of 16 GB), because otherwise every large libtorch temporary is page-faulted in
 * again and big ops run several times slower. The price: whatever a model load allocates for a
 * moment (bf16 shards widened, rows being quantized) stays resident for the whole session and adds
 * to every later peak. One {@code malloc_trim} right after the load returns it, once, when nothing
 * is running. The JVM offers that as its diagnostic command {@code System.trim_native_heap} (JDK
 * 17.0.9 and later, glibc only); calling it through the platform MBean needs no native code of ours.
 */
public final class NativeHeap {
    private static final Logger LOG = LoggerFactory.getLogger(NativeHeap.class);
    private static final String MBEAN = "com.sun.management:type=DiagnosticCommand";
    /** {@code System.trim_native_heap} as the DiagnosticCommand MBean names its operations. */
    private static final String OPERATION = "systemTrimNativeHeap";

    private NativeHeap() {
    }

    /**
     * Trims the C heap now. Returns the JVM's one-line report ("Trim native heap: RSS+Swap:
     * 2633M->1695M (-937M)"), or empty where the JVM or the C library cannot (an older JDK, musl,
     * Windows, macOS), which only means the memory stays cached as before.
     */
    public static Optional<String> trim() {
        return trim("after loading");
    }

    /** {@link #trim()}, logged as done {@code when} ("before a vision encode"). */
    public static Optional<String> trim(String when) {
        return trim(when, false);
    }

    /** {@link #trim(String)} for trims done several times per image: logged at debug level only. */
    public static Optional<String> trimQuietly(String when) {
        return trim(when, true);
    }

    private static Optional<String> trim(String when, boolean quiet) {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            Object out = server.invoke(new ObjectName(MBEAN), OPERATION, new Object[] {new String[0]},
                    new String[] {String[].class.getName()});
            String report = String.valueOf(out).trim();
            if (report.isEmpty() || report.toLowerCase(Locale.ROOT).contains("not available")) {
                LOG.debug("native heap not trimmed: {}", report);
                return Optional.empty();
            }
            if (quiet) {
                LOG.debug("{}: {}", when, report);
            } else {
                LOG.info("{}: {}", when, report);
            }
            return Optional.of(report);
        } catch (JMException | RuntimeException | LinkageError e) {
            LOG.debug("native heap not trimmed: this JVM has no System.trim_native_heap ({})", e.toString());
            return Optional.empty();
        }
    }
}
