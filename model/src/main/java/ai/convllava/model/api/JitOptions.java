package ai.convllava.model.api;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;

/**
 * The HotSpot options the engine's Java Vector API kernels depend on, read from the running JVM: the
 * launcher ({@code app}'s Main, before it re-executes) and the kernels' own checks use this one class.
 * Nothing here touches {@code jdk.incubator.vector} or DJL.
 *
 * <p>{@code LoopUnrollLimit}: above {@link #MAX_GOOD_LOOP_UNROLL_LIMIT} C2 unrolls the float16 kernel's
 * 3x3 tile loop so far that its nine accumulators spill to the stack (docs/bench/README.md has the
 * measurements). HotSpot has no per-method limit, so the launchers start the JVM with
 * {@code -XX:LoopUnrollLimit=}{@value #LOOP_UNROLL_LIMIT}.
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
    public static String vmOption(String name) {
        try {
            return ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption(name).getValue();
        } catch (IllegalArgumentException | NullPointerException e) {
            return null;
        }
    }
}
