package ai.convllava.model.engine;

import ai.convllava.model.GpuAvailable;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.WeightFormat;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.cuda.CudaUtils;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fixture model on a CUDA GPU (skipped with the reason elsewhere; {@code tests/gpu-check.sh} runs
 * these): float32 chooses the CPU's greedy tokens, float16's error is printed and its argmax agreement
 * checked, the KV cache is in the GPU's memory, and closing the model and its conversations gives the
 * GPU's memory back.
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class GpuPathTest {
    private static ConvLlava gpu(WeightFormat f) {
        return DevicePaths.load(DevicePaths.tiny().withDevice(Device.GPU).withWeightFormat(f));
    }

    @Test
    void float32OnTheGpuChoosesTheCpusGreedyTokens() {
        GenerationConfig greedy = GenerationConfig.greedy(DevicePaths.TOKENS_PER_TURN);
        List<int[]> cpu;
        try (ConvLlava m = DevicePaths.cpu()) {
            cpu = DevicePaths.conversations(m, greedy);
        }
        try (ConvLlava m = gpu(WeightFormat.F32)) {
            assertTrue(m.device().isGpu(), m.deviceName());
            assertEquals(WeightFormat.F32, m.weightFormat(), "--weights f32 is kept on the GPU");
            List<int[]> onGpu = DevicePaths.conversations(m, greedy);
            for (int i = 0; i < cpu.size(); i++) {
                assertTrue(cpu.get(i).length > 0, "turn " + i + " generated nothing");
                assertArrayEquals(cpu.get(i), onGpu.get(i), "turn " + i);
            }
        }
    }

    @Test
    void float16OnTheGpuAgreesWithFloat32() {
        try (ConvLlava full = DevicePaths.cpu(); ConvLlava half = gpu(null)) {
            assertEquals(WeightFormat.F16, half.weightFormat(), "float16 by default on the GPU");
            DevicePaths.HalfVsFloat32 c = DevicePaths.halfVsFloat32(full, half);
            System.out.println("GPU float16 vs CPU float32: " + c.describe());
            // the bounds were measured on the CPU device (DevicePathTest); a GPU's float16 kernels sum in another
            // order, so only a gross failure is asserted here until GPU numbers are in docs/bench/gpu.md
            assertTrue(c.worstDecode() < 4 * DevicePathTest.DECODE_BOUND, c.describe());
            assertTrue(c.argmaxSame() >= c.steps() - 2, c.describe());
        }
    }

    @Test
    void theKvCacheLivesInTheGpusMemory() {
        try (ConvLlava m = gpu(null); Conversation conv = m.newConversation(64)) {
            assertTrue(conv.cache.device().isGpu(), "cache on " + conv.cache.device());
            assertEquals(DataType.FLOAT16, conv.cache.type());
        }
    }

    @Test
    void closingGivesTheGpusMemoryBack() {
        ai.djl.Device gpu = ai.djl.Device.gpu();
        cycle(); // first use: CUDA context, cuBLAS workspaces and kernels, which stay for the process
        long before = used(gpu);
        long during = cycle();
        long after = used(gpu);
        System.out.printf("GPU memory in use: before %.1f MB, with the model and a conversation %.1f MB, after closing %.1f MB%n",
                before / 1e6, during / 1e6, after / 1e6);
        assertTrue(during > before, "the cycle allocated nothing on the GPU (" + before + " -> " + during + " bytes): the test would prove nothing");
        assertTrue(after - before <= MARGIN, "after closing, " + (after - before) + " bytes more in use than before the load (margin " + MARGIN + ")");
    }

    /** The caching allocator's granule and a kernel or two's module memory. */
    private static final long MARGIN = 8L << 20;

    /** Loads, answers, and while everything is open, a 64 MB tensor on the GPU; returns the memory in use then. */
    private static long cycle() {
        try (ConvLlava m = gpu(null); Conversation conv = m.newConversation(256)) {
            DevicePaths.conversations(m, GenerationConfig.greedy(4));
            // 64 MB that PyTorch's caching allocator keeps after the manager closes, unless the model's close
            // empties the cache: without DeviceMemory the test fails by that much
            try (NDManager scratch = NDManager.newBaseManager(m.device())) {
                NDArray big = scratch.zeros(new Shape(16L << 20), DataType.FLOAT32);
                assertEquals(m.device(), big.getDevice());
                assertTrue(conv.cache.device().isGpu());
                return used(m.device());
            }
        }
    }

    private static long used(ai.djl.Device gpu) {
        return CudaUtils.getGpuMemory(gpu).getUsed();
    }
}
