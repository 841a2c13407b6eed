package ai.convllava.model.nn;

import ai.convllava.model.api.JitOptions;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * {@code y = x W^T} for float16 weights {@code W [out, in]} read in place from libtorch's memory (a
 * direct view, {@code NDArray.toByteBuffer(true)}), float32 activations and float32 arithmetic: each
 * half is widened exactly in registers and the weights are read once per call, never upcast into a
 * float32 copy. Java 17's Vector API ({@code jdk.incubator.vector}, AVX2 + FMA; see
 * {@link HalfKernelSupport}); work is split over output rows between the calling thread and a fixed
 * pool of (cores - 1) helper threads.
 *
 * <p>Widening without F16C: an int lane holds two halves; {@code (bits << 13) & 0x8fffe000} (after an
 * arithmetic shift that spreads the sign) puts the sign, the 5-bit exponent and the 10-bit mantissa
 * in float32's fields; read as a float this is the half's value times 2^-112, exact for normals,
 * subnormals and zeros (infinities/NaN are not weights and come out finite). The low half of each
 * lane gives the even inputs and the high half the odd ones, so x is stored permuted the same way
 * ({@link #permute}): per block of 16 inputs, the 8 even then the 8 odd.
 *
 * <p>Two loops. One row ({@link #gemv}; LinearLayer uses it for the prefill's exact lm_head row, not
 * for decode, where libtorch's float16 mat-vec was as fast): 4 weight rows at a time, widened and
 * multiplied in registers, the 2^112 applied once to the sum. Several rows ({@link #gemm}, prefill):
 * per block of {@link #KC} inputs, 3 weight rows are widened once into a small float32 panel (exact,
 * times 2^112) that stays in cache while every row of x passes over it in 3x3 register tiles.
 *
 * <p>What JDK 17 decided about the shape (docs/bench/README.md, "The float16 kernel", has the
 * measurements): vectors loaded straight from a direct ByteBuffer are boxed (an allocation per load),
 * so weight bytes are first copied into a heap array per worker; a 4x3 tile spills accumulators to
 * the stack and the 3x3 tile does not, as long as C2 does not unroll its loop, which it does at
 * HotSpot's default {@code LoopUnrollLimit} (unrolling by hand spills the same, and a loop C2 cannot
 * count loses its range-check elimination), so the launchers start the JVM with
 * {@code -XX:LoopUnrollLimit=40} ({@link JitOptions}).
 */
final class HalfMatmul {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    private static final int LANES = 8;
    /** Inputs per permutation block: one int vector holds 16 halves. */
    static final int BLOCK = 2 * LANES;
    private static final int MASK = 0x8fffe000;
    private static final float TWO_POW_112 = 0x1p112f;
    /** Inputs per weight panel block: 3 x 4096 floats = 48 KB, in cache; fewer blocks mean fewer reductions (it measured fastest). */
    static final int KC = 4096;
    /** Output rows per unit of work handed to a thread (a multiple of 3 and of 4). */
    static final int CHUNK = 48;

    private static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static final ExecutorService HELPERS = THREADS > 1 ? Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread t = new Thread(r, "convllava-matmul");
        t.setDaemon(true);
        return t;
    }) : null;
    private static final AtomicBoolean WARMING = new AtomicBoolean();

    private HalfMatmul() {
    }

    /**
     * One thread's buffers for one call: raw weight bytes and the float32 panel (72 KB for gemm, 8 x in
     * bytes for gemv), made by each worker when it starts. Not a ThreadLocal: a thread's first
     * {@code ThreadLocal.get()} takes a branch the warm-up never saw, and C2, which had inlined it into
     * the compiled loop, threw the whole kernel back to the interpreter (an uncommon trap: the first
     * question after start-up was about twice as slow until C2 had compiled the kernel again).
     */
    private static final class Scratch {
        final byte[] raw;
        final float[] panel;

        Scratch(int rows, int in) {
            raw = new byte[rows == 1 ? 4 * padded(in) * 2 : 3 * KC * 2];
            panel = rows == 1 ? new float[0] : new float[3 * KC];
        }
    }

    /**
     * Compiles the kernel before the first question, once per JVM, on a background daemon thread.
     * Until C2 has compiled them, Vector API calls run as boxed Java objects, several times slower: the
     * first short prefill after start-up would pay for it. Small random weights, all loops (1 row,
     * 3x3/3x2/3x1 tiles, tails).
     */
    static void warmUpInBackground() {
        if (!WARMING.compareAndSet(false, true)) {
            return;
        }
        Thread t = new Thread(HalfMatmul::warmUp, "convllava-matmul-warmup");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    private static void warmUp() {
        int in = KC + BLOCK + 5; // two panel blocks and a tail
        // out = 97 and 98: the last 3-row panel holds 1 and then 2 weight rows, as for 4096 and 11008 outputs
        for (int out : new int[] {2 * CHUNK + 1, 2 * CHUNK + 2}) {
            ByteBuffer w = ByteBuffer.allocateDirect(out * in * 2).order(ByteOrder.LITTLE_ENDIAN);
            SplittableRandom r = new SplittableRandom(out);
            for (int i = 0; i < out * in; i++) {
                w.putShort(i * 2, (short) (0x2000 + r.nextInt(0x1800) | (r.nextBoolean() ? 0x8000 : 0))); // |values| ~ 2^-7 .. 2^-1
            }
            for (int round = 0; round < 100; round++) {
                for (int rows : new int[] {1, 2, 3, 4, 17}) {
                    float[] x = new float[rows * in];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) r.nextDouble(-1, 1);
                    }
                    // gemv's loop runs 12 times per call: with one call per round C2 never compiled it and
                    // the first question's lm_head row ran in C1 code (PrintCompilation); one row is cheap
                    for (int again = rows == 1 ? 10 : 1; again > 0; again--) {
                        multiply(w, out, in, x, rows);
                    }
                }
            }
        }
    }

    /** {@code in} rounded up to a whole permutation block. */
    static int padded(int in) {
        return (in + BLOCK - 1) / BLOCK * BLOCK;
    }

    /**
     * x (rows, in) row-major -> (rows, padded(in)), each block of 16 as its 8 even then 8 odd inputs,
     * zeros after {@code in}.
     */
    static float[] permute(float[] x, int rows, int in) {
        int kp = padded(in);
        float[] p = new float[rows * kp];
        for (int r = 0; r < rows; r++) {
            int src = r * in;
            int dst = r * kp;
            for (int j = 0; j < in; j++) {
                int i = j % BLOCK;
                p[dst + j - i + (i >> 1) + (i & 1) * LANES] = x[src + j];
            }
        }
        return p;
    }

    /**
     * y (rows, out) = x (rows, in) times W^T, W float16 {@code [out, in]} little-endian in {@code w}.
     * Sizes are checked here, before any vector access.
     */
    static float[] multiply(ByteBuffer w, int out, int in, float[] x, int rows) {
        if (out <= 0 || in <= 0 || rows <= 0) {
            throw new IllegalArgumentException("empty matmul: out=" + out + ", in=" + in + ", rows=" + rows);
        }
        if (w.capacity() != (long) out * in * 2 || !w.isDirect()) {
            throw new IllegalArgumentException("weight view holds " + w.capacity() + " bytes (direct=" + w.isDirect() + "), expected "
                    + out + " x " + in + " halves");
        }
        if (x.length != (long) rows * in) {
            throw new IllegalArgumentException("x has " + x.length + " values, expected " + rows + " x " + in);
        }
        ByteBuffer view = w.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] xp = permute(x, rows, in);
        float[] y = new float[rows * out];
        RowRange work = rows == 1
                ? (n0, n1, s) -> gemv(view, in, xp, y, n0, n1, s)
                : (n0, n1, s) -> gemm(view, out, in, xp, rows, y, n0, n1, s);
        parallel(out, work, () -> new Scratch(rows, in));
        return y;
    }

    /** Output rows [n0, n1) of the work. */
    @FunctionalInterface
    private interface RowRange {
        void run(int n0, int n1, Scratch scratch);
    }

    /** Chunks of output rows taken in turn by the calling thread and the helpers, until none is left. */
    private static void parallel(int out, RowRange work, Supplier<Scratch> scratch) {
        int chunks = (out + CHUNK - 1) / CHUNK;
        if (HELPERS == null || chunks == 1) {
            work.run(0, out, scratch.get());
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            Scratch own = scratch.get();
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                work.run(c * CHUNK, Math.min(out, (c + 1) * CHUNK), own);
            }
        };
        int helpers = Math.min(THREADS - 1, chunks - 1);
        Future<?>[] futures = new Future<?>[helpers];
        for (int i = 0; i < helpers; i++) {
            futures[i] = HELPERS.submit(worker);
        }
        Throwable failure = null;
        try {
            worker.run();
        } catch (RuntimeException | Error e) {
            failure = e;
            next.set(chunks); // the helpers stop after their current chunk
        }
        boolean interrupted = false;
        for (Future<?> f : futures) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the helpers write into y: wait for them whatever happens
                } catch (ExecutionException e) {
                    if (failure == null) {
                        failure = e.getCause();
                    }
                    break;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    /** Copies inputs [k0, k0 + len) of weight row n into raw at {@code dst}, zeros up to a whole block. */
    private static void copyRow(ByteBuffer w, int in, int n, int k0, int len, byte[] raw, int dst) {
        w.get((n * in + k0) * 2, raw, dst, len * 2); // < capacity <= Integer.MAX_VALUE, checked in multiply
        int end = dst + padded(len) * 2;
        for (int j = dst + len * 2; j < end; j++) {
            raw[j] = 0;
        }
    }

    private static FloatVector even(IntVector bits) {
        return bits.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, MASK)
                .reinterpretAsFloats();
    }

    private static FloatVector odd(IntVector bits) {
        return bits.lanewise(VectorOperators.ASHR, 3).lanewise(VectorOperators.AND, MASK).reinterpretAsFloats();
    }

    // ------------------------------------------------------------------------------------ one row

    /** y[n] for n in [n0, n1), one row of x: weight rows 4 at a time, whole rows copied then reduced. */
    private static void gemv(ByteBuffer w, int in, float[] xp, float[] y, int n0, int n1, Scratch s) {
        int kp = padded(in);
        byte[] raw = s.raw;
        for (int r = n0; r < n1; r += 4) {
            int rows = Math.min(4, n1 - r);
            for (int j = 0; j < 4; j++) {
                if (j < rows) {
                    copyRow(w, in, r + j, 0, in, raw, j * kp * 2);
                } else {
                    Arrays.fill(raw, j * kp * 2, (j + 1) * kp * 2, (byte) 0);
                }
            }
            dot4(raw, kp, xp, y, r, rows);
        }
    }

    /** Four dot products of {@code kp} halves (raw rows at 0, kp, 2kp, 3kp halves) with x; no call inside the loop. */
    private static void dot4(byte[] raw, int kp, float[] xp, float[] y, int r, int rows) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        int o1 = kp * 2;
        int o2 = 2 * o1;
        int o3 = 3 * o1;
        for (int b = 0; b < kp; b += BLOCK) {
            FloatVector xe = FloatVector.fromArray(F, xp, b);
            FloatVector xo = FloatVector.fromArray(F, xp, b + LANES);
            IntVector i0 = IntVector.fromByteArray(I, raw, 2 * b, ByteOrder.LITTLE_ENDIAN);
            IntVector i1 = IntVector.fromByteArray(I, raw, o1 + 2 * b, ByteOrder.LITTLE_ENDIAN);
            IntVector i2 = IntVector.fromByteArray(I, raw, o2 + 2 * b, ByteOrder.LITTLE_ENDIAN);
            IntVector i3 = IntVector.fromByteArray(I, raw, o3 + 2 * b, ByteOrder.LITTLE_ENDIAN);
            a0 = even(i0).fma(xe, a0);
            a1 = even(i1).fma(xe, a1);
            a2 = even(i2).fma(xe, a2);
            a3 = even(i3).fma(xe, a3);
            a0 = odd(i0).fma(xo, a0);
            a1 = odd(i1).fma(xo, a1);
            a2 = odd(i2).fma(xo, a2);
            a3 = odd(i3).fma(xo, a3);
        }
        y[r] = a0.reduceLanes(VectorOperators.ADD) * TWO_POW_112;
        if (rows > 1) {
            y[r + 1] = a1.reduceLanes(VectorOperators.ADD) * TWO_POW_112;
        }
        if (rows > 2) {
            y[r + 2] = a2.reduceLanes(VectorOperators.ADD) * TWO_POW_112;
        }
        if (rows > 3) {
            y[r + 3] = a3.reduceLanes(VectorOperators.ADD) * TWO_POW_112;
        }
    }

    // ------------------------------------------------------------------------------------ many rows

    /**
     * y[m][n] for n in [n0, n1) and every row m of x: per block of KC inputs, per 3 weight rows, widen
     * into the panel and add panel x x over all rows into y (zeroed by the caller).
     */
    private static void gemm(ByteBuffer w, int out, int in, float[] xp, int rows, float[] y, int n0, int n1, Scratch s) {
        int kp = padded(in);
        byte[] raw = s.raw;
        float[] panel = s.panel;
        for (int k0 = 0; k0 < in; k0 += KC) {
            int len = Math.min(KC, in - k0);
            int lp = padded(len);
            for (int r = n0; r < n1; r += 3) {
                int wr = Math.min(3, n1 - r);
                for (int j = 0; j < 3; j++) {
                    if (j < wr) {
                        copyRow(w, in, r + j, k0, len, raw, j * KC * 2);
                    } else {
                        Arrays.fill(raw, j * KC * 2, j * KC * 2 + lp * 2, (byte) 0);
                    }
                }
                widen(raw, panel, lp);
                int m = 0;
                for (; m + 3 <= rows; m += 3) {
                    tile3x3(panel, lp, xp, m * kp + k0, kp, y, m * out + r, out, wr);
                }
                if (rows - m == 2) {
                    tile3x2(panel, lp, xp, m * kp + k0, kp, y, m * out + r, out, wr);
                } else if (rows - m == 1) {
                    tile3x1(panel, lp, xp, m * kp + k0, y, m * out + r, wr);
                }
            }
        }
    }

    /** Three raw rows (at 0, KC, 2KC halves) -> float32 panel rows (at 0, KC, 2KC), exact values. */
    private static void widen(byte[] raw, float[] panel, int lp) {
        for (int j = 0; j < 3; j++) {
            int src = j * KC * 2;
            int dst = j * KC;
            for (int b = 0; b < lp; b += BLOCK) {
                IntVector bits = IntVector.fromByteArray(I, raw, src + 2 * b, ByteOrder.LITTLE_ENDIAN);
                even(bits).mul(TWO_POW_112).intoArray(panel, dst + b);
                odd(bits).mul(TWO_POW_112).intoArray(panel, dst + b + LANES);
            }
        }
    }

    /** 3 weight rows x 3 rows of x: 9 accumulators, adds the 9 sums into y (only the first wr weight rows). */
    private static void tile3x3(float[] p, int lp, float[] x, int x0, int kp, float[] y, int y0, int out, int wr) {
        int x1 = x0 + kp;
        int x2 = x1 + kp;
        FloatVector c00 = FloatVector.zero(F);
        FloatVector c01 = FloatVector.zero(F);
        FloatVector c02 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F);
        FloatVector c11 = FloatVector.zero(F);
        FloatVector c12 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F);
        FloatVector c21 = FloatVector.zero(F);
        FloatVector c22 = FloatVector.zero(F);
        for (int j = 0; j < lp; j += LANES) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + j);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + j);
            FloatVector v2 = FloatVector.fromArray(F, x, x2 + j);
            FloatVector wv = FloatVector.fromArray(F, p, j);
            c00 = wv.fma(v0, c00);
            c01 = wv.fma(v1, c01);
            c02 = wv.fma(v2, c02);
            wv = FloatVector.fromArray(F, p, KC + j);
            c10 = wv.fma(v0, c10);
            c11 = wv.fma(v1, c11);
            c12 = wv.fma(v2, c12);
            wv = FloatVector.fromArray(F, p, 2 * KC + j);
            c20 = wv.fma(v0, c20);
            c21 = wv.fma(v1, c21);
            c22 = wv.fma(v2, c22);
        }
        y[y0] += c00.reduceLanes(VectorOperators.ADD);
        y[y0 + out] += c01.reduceLanes(VectorOperators.ADD);
        y[y0 + 2 * out] += c02.reduceLanes(VectorOperators.ADD);
        if (wr > 1) {
            y[y0 + 1] += c10.reduceLanes(VectorOperators.ADD);
            y[y0 + 1 + out] += c11.reduceLanes(VectorOperators.ADD);
            y[y0 + 1 + 2 * out] += c12.reduceLanes(VectorOperators.ADD);
        }
        if (wr > 2) {
            y[y0 + 2] += c20.reduceLanes(VectorOperators.ADD);
            y[y0 + 2 + out] += c21.reduceLanes(VectorOperators.ADD);
            y[y0 + 2 + 2 * out] += c22.reduceLanes(VectorOperators.ADD);
        }
    }

    private static void tile3x2(float[] p, int lp, float[] x, int x0, int kp, float[] y, int y0, int out, int wr) {
        int x1 = x0 + kp;
        FloatVector c00 = FloatVector.zero(F);
        FloatVector c01 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F);
        FloatVector c11 = FloatVector.zero(F);
        FloatVector c20 = FloatVector.zero(F);
        FloatVector c21 = FloatVector.zero(F);
        for (int j = 0; j < lp; j += LANES) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + j);
            FloatVector v1 = FloatVector.fromArray(F, x, x1 + j);
            FloatVector wv = FloatVector.fromArray(F, p, j);
            c00 = wv.fma(v0, c00);
            c01 = wv.fma(v1, c01);
            wv = FloatVector.fromArray(F, p, KC + j);
            c10 = wv.fma(v0, c10);
            c11 = wv.fma(v1, c11);
            wv = FloatVector.fromArray(F, p, 2 * KC + j);
            c20 = wv.fma(v0, c20);
            c21 = wv.fma(v1, c21);
        }
        y[y0] += c00.reduceLanes(VectorOperators.ADD);
        y[y0 + out] += c01.reduceLanes(VectorOperators.ADD);
        if (wr > 1) {
            y[y0 + 1] += c10.reduceLanes(VectorOperators.ADD);
            y[y0 + 1 + out] += c11.reduceLanes(VectorOperators.ADD);
        }
        if (wr > 2) {
            y[y0 + 2] += c20.reduceLanes(VectorOperators.ADD);
            y[y0 + 2 + out] += c21.reduceLanes(VectorOperators.ADD);
        }
    }

    private static void tile3x1(float[] p, int lp, float[] x, int x0, float[] y, int y0, int wr) {
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        for (int j = 0; j < lp; j += LANES) {
            FloatVector v0 = FloatVector.fromArray(F, x, x0 + j);
            c0 = FloatVector.fromArray(F, p, j).fma(v0, c0);
            c1 = FloatVector.fromArray(F, p, KC + j).fma(v0, c1);
            c2 = FloatVector.fromArray(F, p, 2 * KC + j).fma(v0, c2);
        }
        y[y0] += c0.reduceLanes(VectorOperators.ADD);
        if (wr > 1) {
            y[y0 + 1] += c1.reduceLanes(VectorOperators.ADD);
        }
        if (wr > 2) {
            y[y0 + 2] += c2.reduceLanes(VectorOperators.ADD);
        }
    }
}
