package ai.convllava.model.quant;

import ai.convllava.model.checkpoint.Half;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Throughput of the quantized mat-vec (decode) and of float16 read as a reference, per layer shape of
 * Vicuna-7B: GB/s of weight bytes read and GFLOP/s. Not a test: run by hand (docs/bench/quant.md), e.g.
 * {@code java --add-modules jdk.incubator.vector -XX:LoopUnrollLimit=40 -cp model/target/classes:model/target/test-classes
 * ai.convllava.model.quant.QuantKernelBench}.
 */
public final class QuantKernelBench {
    private QuantKernelBench() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("few")) {
            fewRows(); // the prompt kernel alone
            return;
        }
        if (args.length > 0 && args[0].equals("attention")) {
            decodeAttention(); // a token's attention over an 8-bit cache, layer after layer
            return;
        }
        if (args.length > 0 && args[0].equals("layers")) {
            decodeLayers(); // a token's sequence of products, as the one-token step runs them
            return;
        }
        if (args.length > 0 && args[0].equals("decode")) {
            decodeOutOfCache(); // the two decode kernels against a plain read of the same bytes
            return;
        }
        int[][] shapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}, {32000, 4096}};
        for (QuantFormat f : QuantFormat.values()) {
            for (int[] s : shapes) {
                int rows = s[0];
                int cols = s[1];
                QuantizedMatrix q = random(f, rows, cols, new SplittableRandom(1));
                float[] x = new float[cols];
                Arrays.fill(x, 0.5f);
                float[] y = new float[rows];
                for (int i = 0; i < 20; i++) {
                    q.matvec(x, y);
                }
                double[] t = new double[15];
                for (int i = 0; i < t.length; i++) {
                    long t0 = System.nanoTime();
                    q.matvec(x, y);
                    t[i] = (System.nanoTime() - t0) / 1e9;
                }
                Arrays.sort(t);
                double med = t[t.length / 2];
                System.out.printf("%s %5d x %5d: %6.2f ms  %5.1f GB/s  %5.1f GFLOP/s%n", f, rows, cols, med * 1e3, q.bytes() / med / 1e9,
                        2.0 * rows * cols / med / 1e9);
            }
        }
        directQ8(4096, 11008);
        directQ8(11008, 4096);
        fewRows();
    }

    /**
     * A prompt of a few tokens on each of Vicuna-7B's layer shapes: the Java kernel that widens each weight row once for all
     * the inputs, against dequantizing the whole matrix to float32 (what the libtorch GEMM path pays before it
     * multiplies). GFLOP/s of the kernel; dequantization in GB/s of float32 written.
     */
    private static void fewRows() {
        for (int[] s : new int[][] {{11008, 4096}, {4096, 4096}, {4096, 11008}}) {
            fewRows(s[0], s[1]);
        }
    }

    private static void fewRows(int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(2);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.02f;
        }
        for (QuantFormat f : QuantFormat.values()) {
            QuantizedMatrix q = QuantizedMatrix.quantize(f, w, rows, cols);
            for (int n : new int[] {3, 17, 64}) {
                float[] x = new float[n * cols];
                Arrays.fill(x, 0.25f);
                float[] y = new float[n * rows];
                double t = median(() -> q.matmul(x, n, y));
                System.out.printf("%s %5d x %5d matmul %2d rows: %6.2f ms  %5.1f GFLOP/s%n", f, rows, cols, n, t * 1e3, 2.0 * n * rows * cols / t / 1e9);
            }
            float[] all = new float[rows * cols];
            double t = median(() -> q.dequantizeRows(0, rows, all, 0));
            System.out.printf("%s dequantize all: %6.2f ms  %5.1f GB/s written%n", f, t * 1e3, 4.0 * rows * cols / t / 1e9);
        }
    }

    /**
     * The decode kernels as a token meets them: eight 11008 x 4096 matrices (an MLP's worth of a few layers, 200-400 MB,
     * far more than any cache) multiplied one after another, Java and native kernels in turns, and a Vector API sum over
     * the same byte arrays (the fastest the JVM reads them), GB/s of weights, medians of 7 rounds.
     */
    private static void decodeOutOfCache() {
        System.out.println("decode kernels: " + NativeKernels.status());
        int rows = 11008;
        int cols = 4096;
        for (QuantFormat f : QuantFormat.values()) {
            QuantizedMatrix[] ms = new QuantizedMatrix[8];
            SplittableRandom rnd = new SplittableRandom(3);
            for (int m = 0; m < ms.length; m++) {
                ms[m] = random(f, rows, cols, rnd);
            }
            long bytes = ms.length * ms[0].bytes();
            float[] x = new float[cols];
            for (int i = 0; i < cols; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] y = new float[rows];
            for (QuantizedMatrix.Decode k : QuantizedMatrix.Decode.values()) {
                if (!k.runsHere()) {
                    continue;
                }
                double t = median(() -> {
                    for (QuantizedMatrix m : ms) {
                        m.matvec(x, y, k);
                    }
                });
                System.out.printf("%s %s decode, 8 x %d x %d: %7.2f ms  %5.1f GB/s%n", f, k, rows, cols, t * 1e3, bytes / t / 1e9);
            }
            double t = median(() -> {
                for (QuantizedMatrix m : ms) {
                    m.readAll();
                }
            });
            System.out.printf("%s read only (IntVector sum, all cores): %7.2f ms  %5.1f GB/s%n", f, t * 1e3, bytes / t / 1e9);
        }
    }

    /**
     * A token's products in the order the one-token step runs them: per layer q, k, v, o (4096 x 4096), gate, up
     * (11008 x 4096) and down (4096 x 11008), over eight layers of distinct arrays (0.9 GB of 4-bit blocks, far more than
     * any cache). Against {@link #decodeOutOfCache}'s eight big matrices this shows what the smaller products and the
     * hand-offs between the threads cost (each product is one round of {@link RowPool}). GB/s of weights, medians.
     */
    private static void decodeLayers() {
        System.out.println("decode kernels: " + NativeKernels.status());
        int hidden = 4096;
        int inter = 11008;
        int layers = 8;
        for (QuantFormat f : QuantFormat.values()) {
            SplittableRandom rnd = new SplittableRandom(5);
            QuantizedMatrix square = random(f, hidden, hidden, rnd);
            QuantizedMatrix wide = random(f, inter, hidden, rnd);
            QuantizedMatrix tall = random(f, hidden, inter, rnd);
            QuantizedMatrix[][] ms = new QuantizedMatrix[layers][];
            for (int l = 0; l < layers; l++) {
                ms[l] = new QuantizedMatrix[] {copy(square), copy(square), copy(square), copy(square), copy(wide), copy(wide), copy(tall)};
            }
            long bytes = 0;
            for (QuantizedMatrix[] layer : ms) {
                for (QuantizedMatrix m : layer) {
                    bytes += m.bytes();
                }
            }
            float[] x = new float[inter];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            float[] h = Arrays.copyOf(x, hidden);
            float[] y = new float[inter];
            double t = median(() -> {
                for (QuantizedMatrix[] layer : ms) {
                    for (QuantizedMatrix m : layer) {
                        m.matvec(m.cols() == hidden ? h : x, y);
                    }
                }
            });
            System.out.printf("%s %d layers' products in a token's order: %7.2f ms  %5.1f GB/s  (%.1f us a product)%n", f, layers, t * 1e3,
                    bytes / t / 1e9, t * 1e6 / (layers * 7));
        }
    }

    /**
     * One token's attention over eight layers' 8-bit caches (32 heads of 128, 2048 positions reserved) at the positions a
     * conversation about one 1536 image reaches (a few hundred): time per layer and GB/s of cache read.
     */
    private static void decodeAttention() {
        int heads = 32;
        int headDim = 128;
        int capacity = 2048;
        int layers = 8;
        SplittableRandom rnd = new SplittableRandom(7);
        java.nio.ByteBuffer[][] cache = new java.nio.ByteBuffer[layers][4];
        for (int l = 0; l < layers; l++) {
            for (int i = 0; i < 4; i++) {
                int bytes = i % 2 == 0 ? heads * capacity * headDim : heads * capacity * Float.BYTES; // int8 rows, float32 scales
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocateDirect(bytes).order(java.nio.ByteOrder.nativeOrder());
                for (int j = 0; j < bytes; j += i % 2 == 0 ? 1 : 4) {
                    if (i % 2 == 0) {
                        b.put(j, (byte) rnd.nextInt(-127, 128));
                    } else {
                        b.putFloat(j, 0.01f + (float) rnd.nextDouble() * 0.01f);
                    }
                }
                cache[l][i] = b;
            }
        }
        float[] q = new float[heads * headDim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rnd.nextGaussian();
        }
        float[] out = new float[heads * headDim];
        for (int n : new int[] {160, 650, 1300, 2048}) {
            double t = median(() -> {
                for (java.nio.ByteBuffer[] c : cache) {
                    Int8KvAttention.attend(q, heads, heads, headDim, c[0], c[1], c[2], c[3], capacity, n, 1 / (float) Math.sqrt(headDim), out, null);
                }
            });
            long bytes = (long) layers * 2 * heads * n * (headDim + Float.BYTES);
            System.out.printf("attention over %d positions: %7.1f us a layer  %5.1f GB/s of cache%n", n, t * 1e6 / layers, bytes / t / 1e9);
        }
    }

    private static QuantizedMatrix random(QuantFormat f, int rows, int cols, SplittableRandom rnd) {
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.02f;
        }
        return QuantizedMatrix.quantize(f, w, rows, cols);
    }

    /** The same blocks in arrays of their own. */
    private static QuantizedMatrix copy(QuantizedMatrix m) {
        return new QuantizedMatrix(m.format(), m.rows(), m.cols(), m.ggufBlocks());
    }

    private static double median(Runnable r) {
        for (int i = 0; i < 5; i++) {
            r.run();
        }
        double[] t = new double[9];
        for (int i = 0; i < t.length; i++) {
            long t0 = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(t);
        return t[t.length / 2];
    }

    /**
     * The same Q8_0 mat-vec reading the blocks from a direct ByteBuffer (off the Java heap) instead of a
     * byte[]: the alternative the issue asks to measure, not used by the engine.
     */
    private static void directQ8(int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(1);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian() * 0.02f;
        }
        QuantizedMatrix q = QuantizedMatrix.quantize(QuantFormat.Q8_0, w, rows, cols);
        ByteBuffer direct = ByteBuffer.allocateDirect(q.ggufBlocks().length).order(ByteOrder.LITTLE_ENDIAN);
        direct.put(q.ggufBlocks()).flip();
        float[] x = new float[cols];
        Arrays.fill(x, 0.5f);
        float[] y = new float[rows];
        float[] half = Half.table();
        int rowBytes = (int) QuantFormat.Q8_0.rowBytes(cols);
        Runnable mv = () -> RowPool.forRows(rows, 64, (a, b) -> {
            for (int r = a; r < b; r++) {
                int p = r * rowBytes;
                FloatVector acc = FloatVector.zero(FloatVector.SPECIES_256);
                for (int blk = 0, xo = 0; blk < cols / 32; blk++, p += 34, xo += 32) {
                    float d = half[direct.getShort(p) & 0xffff];
                    FloatVector s = FloatVector.zero(FloatVector.SPECIES_256);
                    for (int k = 0; k < 4; k++) {
                        FloatVector qv = (FloatVector) ByteVector.fromByteBuffer(ByteVector.SPECIES_64, direct, p + 2 + 8 * k, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.B2F, FloatVector.SPECIES_256, 0);
                        s = qv.fma(FloatVector.fromArray(FloatVector.SPECIES_256, x, xo + 8 * k), s);
                    }
                    acc = s.fma(FloatVector.broadcast(FloatVector.SPECIES_256, d), acc);
                }
                y[r] = acc.reduceLanes(VectorOperators.ADD);
            }
        });
        for (int i = 0; i < 20; i++) {
            mv.run();
        }
        double[] t = new double[15];
        for (int i = 0; i < t.length; i++) {
            long t0 = System.nanoTime();
            mv.run();
            t[i] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(t);
        double med = t[t.length / 2];
        System.out.printf("Q8_0 direct ByteBuffer %5d x %5d: %6.2f ms  %5.1f GB/s%n", rows, cols, med * 1e3, q.bytes() / med / 1e9);
    }
}
