package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Microbenchmark of float16 linear layers (not a test: run by hand). Every variant runs on the same
 * weights and inputs, interleaved round-robin in one JVM, and the median (with min/max) is printed:
 * <pre>
 * mvn -B -o -q test-compile -pl model -am
 * java --add-modules jdk.incubator.vector -Dai.djl.offline=true -cp model/target/test-classes:model/target/classes:$(cat cp.txt) \
 *     ai.convllava.model.nn.LinearKernelBench [variant regex] [reps] [rows,rows,...] [out x in,...]
 * </pre>
 * Variants: (a) LinearLayer's libtorch paths, (b) other libtorch formulations reachable through DJL,
 * (c) {@link HalfMatmul}. Start it with {@code OMP_WAIT_POLICY=PASSIVE} to see libtorch without spinning workers.
 */
public final class LinearKernelBench {
    private LinearKernelBench() {
    }

    public static void main(String[] args) {
        String only = args.length > 0 ? args[0] : "";
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 9;
        int[] ms = args.length > 2 ? Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray() : new int[] {1, 5, 17, 24, 32, 64};
        String[] shapes = args.length > 3 ? args[3].split(",") : new String[] {"4096x4096", "11008x4096", "4096x11008"};
        Random rnd = new Random(1);
        System.out.println("Java kernel: " + (HalfKernelSupport.reasonUnavailable() == null ? "available" : HalfKernelSupport.reasonUnavailable()));
        try (NDManager mgr = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            for (String s : shapes) {
                int n = Integer.parseInt(s.split("x")[0]);
                int k = Integer.parseInt(s.split("x")[1]);
                float[] wf = new float[n * k];
                for (int i = 0; i < wf.length; i++) {
                    wf[i] = (float) (rnd.nextGaussian() * 0.02);
                }
                NDArray w16;
                try (NDArray w32 = mgr.create(wf, new Shape(n, k))) {
                    w16 = w32.toType(DataType.FLOAT16, true);
                }
                LinearLayer layer = LinearLayer.of(w16, null);
                for (int m : ms) {
                    float[] xf = new float[m * k];
                    for (int i = 0; i < xf.length; i++) {
                        xf[i] = (float) rnd.nextGaussian();
                    }
                    NDArray x = mgr.create(xf, new Shape(1, m, k));
                    Map<String, Supplier<NDArray>> vs = new LinkedHashMap<>();
                    vs.put("a:LinearLayer libtorch", () -> withKernel(false, () -> layer.forward(x)));
                    vs.put("a:f16 Linear.linear", () -> Linear.linear(x.toType(DataType.FLOAT16, false), w16).singletonOrThrow()
                            .toType(DataType.FLOAT32, false));
                    if (m > 1) {
                        vs.put("a:upcast blocks 1024", () -> blocked(x, w16, 1024));
                        vs.put("b:upcast blocks 256", () -> blocked(x, w16, 256));
                        vs.put("b:upcast whole", () -> blocked(x, w16, n));
                        vs.put("b:upcast into reused 1024", () -> reused(mgr, x, w16, 1024));
                    }
                    vs.put("b:W16 @ x16^T matMul", () -> w16.matMul(x.reshape(m, k).toType(DataType.FLOAT16, false).transpose()).transpose()
                            .toType(DataType.FLOAT32, false));
                    vs.put("b:x16 bmm W16^T", () -> x.toType(DataType.FLOAT16, false).batchMatMul(w16.transpose().expandDims(0))
                            .toType(DataType.FLOAT32, false));
                    vs.put("c:HalfMatmul (LinearLayer)", () -> withKernel(true, () -> layer.forward(x)));
                    if (m > 1) { // the kernel at any row count, past LinearLayer's HALF_KERNEL_ROWS: where it stops winning
                        ByteBuffer halves = w16.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
                        vs.put("c:HalfMatmul any rows", () -> mgr.create(HalfMatmul.multiply(halves, n, k, x.toFloatArray(), m), new Shape(1, m, n)));
                    }
                    if (m == 1) {
                        // one row goes to the Java kernel only when exact (the prefill's lm_head); this times its mat-vec
                        vs.put("c:HalfMatmul one row, exact", () -> withKernel(true, () -> layer.forward(x, true)));
                        vs.put("a:LinearLayer one row, exact", () -> withKernel(false, () -> layer.forward(x, true)));
                    }
                    vs.keySet().removeIf(name -> !only.isEmpty() && !name.matches(only));
                    run(vs, x, w16, n, k, m, reps);
                    x.close();
                }
                w16.close();
            }
            if (reused != null) {
                reused.close();
            }
        }
    }

    private static NDArray withKernel(boolean on, Supplier<NDArray> f) {
        LinearLayer.setHalfKernelEnabled(on);
        try {
            return f.get();
        } finally {
            LinearLayer.setHalfKernelEnabled(true);
        }
    }

    private static void run(Map<String, Supplier<NDArray>> vs, NDArray x, NDArray w16, int n, int k, int m, int reps) {
        float[] ref;
        try (NDScope sc = new NDScope()) {
            ref = Linear.linear(x, w16.toType(DataType.FLOAT32, false)).singletonOrThrow().toFloatArray();
        }
        Map<String, List<Double>> times = new LinkedHashMap<>();
        for (String v : vs.keySet()) {
            times.put(v, new ArrayList<>());
            try (NDScope sc = new NDScope()) {
                float[] got = vs.get(v).get().toFloatArray();
                double err = 0;
                for (int i = 0; i < ref.length; i++) {
                    err = Math.max(err, Math.abs(got[i] - ref[i]));
                }
                if (err > 0.05) {
                    System.out.printf("  !! %s: max abs error %.3g against float32%n", v, err);
                }
            }
        }
        for (int r = 0; r < reps + 2; r++) {
            for (String v : vs.keySet()) {
                try (NDScope sc = new NDScope()) {
                    long t0 = System.nanoTime();
                    vs.get(v).get().toFloatArray();
                    if (r >= 2) { // two warm-up rounds
                        times.get(v).add((System.nanoTime() - t0) / 1e6);
                    }
                }
            }
        }
        for (String v : vs.keySet()) {
            List<Double> t = times.get(v);
            Collections.sort(t);
            double med = t.get(t.size() / 2);
            System.out.printf("%5dx%-5d M=%-3d %-28s median %8.2f ms (min %8.2f max %8.2f) %6.1f GFLOP/s %5.1f GB/s of f16 W%n", n, k, m, v,
                    med, t.get(0), t.get(t.size() - 1), 2.0 * m * n * k / med / 1e6, 2.0 * n * k / med / 1e6);
        }
    }

    private static NDArray blocked(NDArray x, NDArray weight, int blk) {
        long out = weight.getShape().get(0);
        NDList parts = new NDList();
        for (long r = 0; r < out; r += blk) {
            long end = Math.min(out, r + blk);
            try (NDArray w32 = weight.get(new NDIndex("{}:{}", r, end)).toType(DataType.FLOAT32, false)) {
                parts.add(Linear.linear(x, w32).singletonOrThrow());
            }
        }
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, -1);
    }

    private static NDArray reused;

    /** Upcast into one preallocated float32 block by an in-place copy ({@code set}, libtorch index_put_), reused for every block. */
    private static NDArray reused(NDManager mgr, NDArray x, NDArray weight, int blk) {
        long out = weight.getShape().get(0);
        long in = weight.getShape().get(1);
        if (reused == null || reused.getShape().get(1) != in) {
            if (reused != null) {
                reused.close();
            }
            reused = mgr.zeros(new Shape(blk, in), DataType.FLOAT32);
            NDScope.unregister(reused);
        }
        NDList parts = new NDList();
        for (long r = 0; r < out; r += blk) {
            long end = Math.min(out, r + blk);
            NDArray dst = end - r == blk ? reused : reused.get(new NDIndex("0:{}", end - r));
            dst.set(new NDIndex(":"), weight.get(new NDIndex("{}:{}", r, end)));
            parts.add(Linear.linear(x, dst).singletonOrThrow());
        }
        return parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, -1);
    }
}
