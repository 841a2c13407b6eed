package ai.convllava.model.nn;

import ai.convllava.model.api.JitOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether {@link HalfMatmul} (the Java float16 kernel) can run here, decided once without touching
 * a class of {@code jdk.incubator.vector}: the module must be in the boot layer (started with
 * {@code --add-modules jdk.incubator.vector}) and HotSpot must compile 256-bit float vectors with FMA
 * (x86 AVX2 + FMA). Elsewhere (no module, ARM's 128-bit NEON, no FMA) the Vector API would fall back
 * to per-lane Java code, far slower than libtorch, so {@link LinearLayer} keeps libtorch's paths.
 * {@code -Dconvllava.halfKernel=false} turns the kernel off.
 */
final class HalfKernelSupport {
    private static final Logger LOG = LoggerFactory.getLogger(HalfKernelSupport.class);
    static final String PROPERTY = "convllava.halfKernel";
    static final String MODULE = "jdk.incubator.vector";
    private static final String REASON = reasonUnavailable();
    private static volatile boolean warned;

    private HalfKernelSupport() {
    }

    /** True when the Java float16 kernel is usable and not turned off. */
    static boolean available() {
        if (REASON != null && !warned) {
            warned = true;
            LOG.info("float16 linear layers run on libtorch: {}", REASON);
        }
        return REASON == null;
    }

    /** Why the kernel is off, or null when it is available. */
    static String reasonUnavailable() {
        if ("false".equalsIgnoreCase(System.getProperty(PROPERTY))) {
            return "-D" + PROPERTY + "=false";
        }
        if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
            return "the JVM was started without --add-modules " + MODULE;
        }
        String useAvx = JitOptions.vmOption("UseAVX");
        String useFma = JitOptions.vmOption("UseFMA");
        if (useAvx == null || useFma == null) {
            // not HotSpot on x86 (the options do not exist, e.g. on ARM)
            return "no x86 AVX2/FMA vector support reported by the JVM (" + System.getProperty("os.arch") + ")";
        }
        int avx = Integer.parseInt(useAvx);
        boolean fma = Boolean.parseBoolean(useFma);
        if (avx < 2 || !fma) {
            return "this CPU/JVM has no AVX2 with FMA (UseAVX=" + avx + ", UseFMA=" + fma + ")";
        }
        return null;
    }
}
