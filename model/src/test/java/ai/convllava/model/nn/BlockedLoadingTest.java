package ai.convllava.model.nn;

import ai.convllava.model.api.WeightFormat;

import ai.convllava.model.Goldens;
import ai.convllava.model.spi.DType;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.spi.TensorInfo;
import ai.convllava.model.spi.WeightSource;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading big tensors block by block through a small scratch (16 MB in the app) must give exactly
 * the tensors a whole-tensor load gives, in float32 and float16, from every kind of weight source.
 */
class BlockedLoadingTest {
    private static final Path TINY = Goldens.TINY.resolve("tiny-convllava");

    @Test
    void blocksOfAFewRowsLoadTheSameTensorsAsWholeTensors() {
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(TINY); NDManager m = NDManager.newBaseManager(Device.cpu())) {
            List<String> matrices = new ArrayList<>();
            for (String k : ckpt.keys()) {
                if (ckpt.info(k).shape().length >= 2) {
                    matrices.add(k);
                }
            }
            assertTrue(matrices.size() > 20, "the tiny checkpoint has matrices and conv kernels");
            for (WeightFormat format : WeightFormat.values()) {
                Weights whole = new Weights(ckpt, m, format, "whole", matrices, LoadListener.NONE, () -> false);
                // 7 floats: every matrix splits into blocks of one row or a few rows, with a short last block
                Weights blocked = new Weights(ckpt, m, format, "blocked", matrices, LoadListener.NONE, () -> false, 7 * 16 + 5);
                for (String k : matrices) {
                    long[] shape = ckpt.info(k).shape();
                    NDArray a = shape.length == 2 ? whole.linear(k, shape[0], shape[1]) : whole.f32(k, shape);
                    NDArray b = shape.length == 2 ? blocked.linear(k, shape[0], shape[1]) : blocked.f32(k, shape);
                    assertEquals(a.getDataType(), b.getDataType(), k);
                    assertArrayEquals(a.toType(DataType.FLOAT32, false).toFloatArray(), b.toType(DataType.FLOAT32, false).toFloatArray(), 0f, k);
                    assertEquals(k, b.getName());
                }
            }
        }
    }

    @Test
    void checkpointRangesMatchWholeReadsInBothLayouts() {
        for (String folder : new String[] {"tiny-convllava", "tiny-convllava-safetensors"}) {
            try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(Goldens.TINY.resolve(folder))) {
                for (String k : ckpt.keys()) {
                    float[] all = ckpt.readFloatArray(k);
                    int first = all.length / 3;
                    int n = all.length - first - all.length / 5;
                    FloatBuffer dst = FloatBuffer.allocate(n);
                    ckpt.readRangeInto(k, first, n, dst);
                    assertArrayEquals(Arrays.copyOfRange(all, first, first + n), dst.array(), 0f, folder + " " + k);
                }
                String any = ckpt.keys().iterator().next();
                long numel = ckpt.info(any).numel();
                assertThrows(IllegalArgumentException.class, () -> ckpt.readRangeInto(any, numel, 1, FloatBuffer.allocate(1)));
            }
        }
    }

    @Test
    void aWeightBeyondFloat16RangeIsRefusedByName() {
        float[] values = new float[64 * 3];
        values[64 * 2 + 5] = 70_000f; // fine as bf16/f32, infinity as f16
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (int block : new int[] {Weights.BLOCK_FLOATS, 64}) {
                WeightSource src = new ArraySource("big.weight", values, 3, 64);
                Weights w = new Weights(src, m, WeightFormat.F16, "t", List.of("big.weight"), LoadListener.NONE, () -> false, block);
                WeightRangeException e = assertThrows(WeightRangeException.class, () -> w.linear("big.weight", 3, 64));
                assertTrue(e.getMessage().contains("big.weight") && e.getMessage().contains("65504"), e.getMessage());
                // the same values are fine in float32
                Weights w32 = new Weights(src, m, WeightFormat.F32, "t", List.of("big.weight"), LoadListener.NONE, () -> false, block);
                assertEquals(70_000f, w32.linear("big.weight", 3, 64).toFloatArray()[64 * 2 + 5]);
            }
        }
    }

    @Test
    void cancellingBetweenBlocksStopsTheLoadAndFreesThePartialTensor() {
        float[] values = new float[64 * 100];
        AtomicInteger reads = new AtomicInteger();
        WeightSource src = new ArraySource("w", values, 100, 64) {
            @Override
            public void readRangeInto(String key, long first, int count, FloatBuffer dst, long... shape) {
                reads.incrementAndGet();
                super.readRangeInto(key, first, count, dst, shape);
            }
        };
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Weights w = new Weights(src, m, WeightFormat.F16, "t", List.of("w"), LoadListener.NONE, () -> reads.get() >= 3, 64 * 10);
            long before = m.getManagedArrays().size();
            assertThrows(CancellationException.class, () -> w.linear("w", 100, 64));
            assertEquals(3, reads.get(), "stopped at the first block boundary after the request");
            assertEquals(before, m.getManagedArrays().size(), "the partly filled tensor was freed");
        }
    }

    /** One float32 tensor held in a Java array. */
    private static class ArraySource implements WeightSource {
        private final String key;
        private final float[] values;
        private final long[] shape;

        ArraySource(String key, float[] values, long... shape) {
            this.key = key;
            this.values = values;
            this.shape = shape;
        }

        @Override
        public String describe() {
            return "test array";
        }

        @Override
        public Set<String> keys() {
            return Set.of(key);
        }

        @Override
        public boolean contains(String k) {
            return key.equals(k);
        }

        @Override
        public TensorInfo info(String k) {
            return new TensorInfo(key, DType.F32, shape, Path.of("array"), 0, values.length * 4L);
        }

        @Override
        public ByteBuffer readFloat32(String k, long... expectedShape) {
            ByteBuffer b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(values);
            return b;
        }

        @Override
        public float[] readFloatArray(String k, long... expectedShape) {
            return values.clone();
        }

        @Override
        public Set<String> unusedKeys() {
            return Set.of();
        }

        @Override
        public void close() {
        }
    }
}
