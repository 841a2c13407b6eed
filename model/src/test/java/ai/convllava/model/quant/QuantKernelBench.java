package ai.convllava.model.quant;

import ai.convllava.model.checkpoint.Half;

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
        int[][] shapes = {{4096, 4096}, {11008, 4096}, {4096, 11008}, {32000, 4096}};
        for (QuantFormat f : QuantFormat.values()) {
            for (int[] s : shapes) {
                int rows = s[0];
                int cols = s[1];
                SplittableRandom rnd = new SplittableRandom(1);
                float[] w = new float[rows * cols];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (float) rnd.nextGaussian() * 0.02f;
                }
                QuantizedMatrix q = QuantizedMatrix.quantize(f, w, rows, cols);
                w = null;
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
        Half.table();
    }
}
