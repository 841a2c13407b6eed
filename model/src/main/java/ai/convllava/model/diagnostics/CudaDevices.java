package ai.convllava.model.diagnostics;

import ai.convllava.model.api.Device;
import ai.convllava.model.runtime.LibtorchSetup;
import ai.convllava.model.runtime.NvidiaDriver;

import java.util.Optional;

/**
 * Whether PyTorch sees a CUDA device, and if not why, in one line for a skipped GPU test or a refused
 * {@code --device gpu}: the answers of the device choice the model's loader makes ({@link LibtorchSetup}),
 * so a test or the bench meets what a load would.
 */
public final class CudaDevices {
    private CudaDevices() {
    }

    /** CUDA devices libtorch can use (0 with a CPU-only libtorch or without a driver). */
    public static int count() {
        return LibtorchSetup.torchGpuCount();
    }

    /** Empty when there is a GPU; else "no CUDA device: " and the device choice's reason (no driver, a CPU-only libtorch, ...). */
    public static Optional<String> absentReason() {
        if (count() > 0) {
            return Optional.empty();
        }
        return Optional.of("no CUDA device: " + LibtorchSetup.choose(Device.AUTO).reason());
    }

    /** The first GPU as the driver describes it (name, memory), for reports; empty without one. */
    public static Optional<String> describeFirst() {
        if (count() == 0) {
            return Optional.empty();
        }
        NvidiaDriver d = LibtorchSetup.driver();
        return Optional.of(d.gpus().isEmpty() ? "CUDA device 0" : d.gpus().get(0).describe() + ", driver " + d.driver());
    }
}
