package ai.convllava.model.diagnostics;

import ai.djl.engine.Engine;
import ai.djl.util.cuda.CudaUtils;

import java.util.Optional;

/**
 * Whether PyTorch sees a CUDA device, and if not why, in one line for a skipped GPU test or a refused
 * {@code --device gpu}. Asks the engine (what the model's loader asks), so the answer is the one the load
 * would meet. The device selection itself is {@code ModelLoader}'s.
 */
public final class CudaDevices {
    private CudaDevices() {
    }

    /** CUDA devices PyTorch reports (0 with a CPU-only libtorch or without a driver). */
    public static int count() {
        return Engine.getInstance().getGpuCount();
    }

    /**
     * Empty when there is a GPU; else "no CUDA device: PyTorch 2.7.1 reports 0 GPUs (a CPU-only libtorch, or no NVIDIA
     * device or driver)". Which of the two it is belongs to the engine diagnostics (libtorch's flavour).
     */
    public static Optional<String> absentReason() {
        int n = count();
        if (n > 0) {
            return Optional.empty();
        }
        return Optional.of("no CUDA device: PyTorch " + Engine.getInstance().getVersion() + " reports " + n
                + " GPUs (a CPU-only libtorch, or no NVIDIA device or driver)");
    }

    /** The first GPU's name and memory for reports, e.g. "gpu(0), compute capability 8.6, 24.0 GB"; empty without one. */
    public static Optional<String> describeFirst() {
        if (count() == 0) {
            return Optional.empty();
        }
        ai.djl.Device gpu = ai.djl.Device.gpu();
        java.lang.management.MemoryUsage mem = CudaUtils.getGpuMemory(gpu);
        return Optional.of(gpu + ", compute capability " + CudaUtils.getComputeCapability(0) + ", "
                + String.format("%.1f GB", mem.getMax() / 1e9));
    }
}
