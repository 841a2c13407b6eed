package ai.convllava.model.nn;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;

/**
 * Gives a GPU's freed memory back. PyTorch's CUDA caching allocator keeps the blocks of closed tensors
 * for its own reuse, so after a model or a conversation is closed nvidia-smi (and the next program, or
 * the next model in a bigger size) still sees the memory taken; {@code emptyCudaCache} returns the
 * unused blocks to the driver. A no-op on the CPU (and on a CPU-only libtorch).
 * {@code JniUtils.emptyCudaCache} exists in DJL 0.33 (the CUDA build) as in 0.36.
 */
public final class DeviceMemory {
    private DeviceMemory() {
    }

    /** After closing the manager that held {@code device}'s tensors: returns the cached blocks to the driver. */
    public static void releaseCached(Device device) {
        if (device != null && device.isGpu()) {
            JniUtils.emptyCudaCache();
        }
    }
}
