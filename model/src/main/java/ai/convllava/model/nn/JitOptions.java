package ai.convllava.model.nn;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;

/**
 * The HotSpot options the Java float16 kernel ({@link HalfMatmul}) depends on, read from the running
 * JVM: the launcher ({@code app}'s Main, before it re-executes) and the kernel's own checks use this
 * one class. Nothing here touches {@code jdk.incubator.vector} or DJL.
 *
 * <p>{@code LoopUnrollLimit}: above {@link #MAX_GOOD_LOOP_UNROLL_LIMIT} C2 unrolls the kernel's 3x3
 * tile loop so far that its nine accumulators spill to the stack: a layer's products with 21 rows
 * took 174-190 ms at HotSpot's default 60 and 125-147 ms at 10-50 (medians of 10, same JVM build,
 * 2-core EPYC). HotSpot has no per-method limit, so the launchers start the JVM with
 * {@code -XX:LoopUnrollLimit=}{@value #LOOP_UNROLL_LIMIT} (image preprocessing and the bf16 widening
 * of a load measured the same at 40, 50 and 60).
 */
public final class JitOptions {
    /** The limit the launchers set. */
    public static final int LOOP_UNROLL_LIMIT = 40;
    /** The highest limit at which the kernel's tile loop stays in registers. */
    public static final int MAX_GOOD_LOOP_UNROLL_LIMIT = 50;

    private JitOptions() {
    }

    /** HotSpot's {@code LoopUnrollLimit} in this JVM, or -1 where it does not exist (no C2). */
    public static int loopUnrollLimit() {
        String v = vmOption("LoopUnrollLimit");
        return v == null ? -1 : Integer.parseInt(v);
    }

    /** Whether this JVM unrolls the kernel's loop past the point where it spills (false without C2). */
    public static boolean loopUnrollTooHigh() {
        return loopUnrollLimit() > MAX_GOOD_LOOP_UNROLL_LIMIT;
    }

    /** A HotSpot option's value, or null where the JVM has no such option (not HotSpot, or not this platform's). */
    static String vmOption(String name) {
        try {
            return ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption(name).getValue();
        } catch (IllegalArgumentException | NullPointerException e) {
            return null;
        }
    }
}
