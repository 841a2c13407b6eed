package ai.convllava.model.runtime;

import ai.convllava.model.api.Device;

import java.util.Locale;

/**
 * Where a model runs and, when it is not the GPU, the one line that says why: no NVIDIA driver, a driver
 * too old for the libtorch's CUDA, a CPU-only libtorch on a machine that has a GPU, ... Decided from
 * {@link Facts} gathered without side effects, so every branch is tested without a GPU.
 *
 * @param kind   where it runs
 * @param reason why (for the CPU: what would be needed for the GPU), shown in Settings, the self-test and the log
 */
public record DeviceChoice(Kind kind, String reason) {
    public enum Kind { CPU, CUDA, MPS }

    /**
     * What the decision rests on.
     *
     * @param libtorchVersion the libtorch in use, e.g. 2.7.1
     * @param flavor          its flavour: cpu, cu124, ...
     * @param torchGpus       CUDA devices PyTorch sees (0 with a CPU libtorch)
     * @param driver          what nvidia-smi says
     * @param os              os.name
     * @param arch            os.arch
     */
    public record Facts(String libtorchVersion, String flavor, int torchGpus, NvidiaDriver driver, String os, String arch) {
        boolean appleSilicon() {
            return os.toLowerCase(Locale.ROOT).startsWith("mac") && (arch.equals("aarch64") || arch.equals("arm64"));
        }
    }

    public boolean accelerated() {
        return kind != Kind.CPU;
    }

    /** Where {@code requested} runs: the GPU when asked for (or Auto) and usable, else the CPU and why. */
    public static DeviceChoice decide(Device requested, Facts f) {
        if (requested == Device.CPU) {
            return new DeviceChoice(Kind.CPU, "the CPU, as chosen (Device: CPU)");
        }
        if (f.appleSilicon()) {
            if (requested == Device.GPU) {
                return new DeviceChoice(Kind.MPS, "the Apple GPU (Metal, PyTorch's mps device), as chosen; not run on real hardware by the developers yet");
            }
            return new DeviceChoice(Kind.CPU, "the CPU: Auto does not pick the Apple GPU (mps) because that path has not been run on real hardware"
                    + " yet; choose Device: GPU to try it");
        }
        if (f.torchGpus() > 0) {
            String name = f.driver().gpus().isEmpty() ? "CUDA device 0" : f.driver().gpus().get(0).describe();
            return new DeviceChoice(Kind.CUDA, "GPU 0 (" + name + "), libtorch " + f.libtorchVersion() + " " + f.flavor()
                    + (f.driver().driver() != null ? ", driver " + f.driver().driver() : ""));
        }
        String firstGpu = f.driver().gpus().isEmpty() ? null : f.driver().gpus().get(0).name();
        if (!f.flavor().startsWith("cu")) {
            if (firstGpu != null) {
                return cpu("an NVIDIA GPU is present (" + firstGpu + ") but the libtorch in use (" + f.libtorchVersion() + ", " + f.flavor()
                        + ") has no CUDA: install the GPU package (convllava-desktop-cuda) or set a CUDA libtorch folder in Settings > Engine");
            }
            return cpu("no NVIDIA GPU found (" + f.driver().absentReason() + ")");
        }
        String needs = LibtorchFolder.cudaVersion(f.flavor());
        if (!f.driver().present()) {
            return cpu("this libtorch is built for CUDA " + needs + " but " + f.driver().absentReason() + "; install the NVIDIA driver");
        }
        if (firstGpu == null) {
            return cpu("the NVIDIA driver " + f.driver().driver() + " lists no GPU");
        }
        if (f.driver().cuda() != null && needs != null && olderThan(f.driver().cuda(), needs)) {
            return cpu("the NVIDIA driver " + f.driver().driver() + " supports CUDA up to " + f.driver().cuda() + ", but this libtorch needs CUDA "
                    + needs + ": update the driver");
        }
        String visible = System.getenv("CUDA_VISIBLE_DEVICES");
        return cpu("the driver " + f.driver().driver() + " lists " + firstGpu + " but PyTorch sees no CUDA device"
                + (visible != null ? " (CUDA_VISIBLE_DEVICES=" + visible + ")" : "") + "; the self-test's log may say why");
    }

    private static DeviceChoice cpu(String why) {
        return new DeviceChoice(Kind.CPU, "the CPU: " + why);
    }

    /**
     * Whether a driver supporting CUDA {@code driver} is too old for a runtime of CUDA {@code runtime}. Within
     * one major version CUDA's minor-version compatibility lets a newer runtime run on an older driver, so
     * only an older major version is refused.
     */
    static boolean olderThan(String driver, String runtime) {
        try {
            return Integer.parseInt(driver.split("\\.")[0]) < Integer.parseInt(runtime.split("\\.")[0]);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /**
     * The refusal of a model that needs {@code neededBytes} of GPU memory where GPU 0 has less free, or
     * null when it fits or nvidia-smi did not say.
     */
    public static String gpuMemoryProblem(long neededBytes, NvidiaDriver driver) {
        if (driver.gpus().isEmpty()) {
            return null;
        }
        NvidiaDriver.Gpu g = driver.gpus().get(0);
        if (g.freeBytes() >= neededBytes) {
            return null;
        }
        return String.format("the model needs about %.1f GiB of GPU memory in float16 but %s has %.1f GiB free of %.1f GiB",
                neededBytes / (double) (1L << 30), g.name(), g.freeMiB() / 1024.0, g.totalMiB() / 1024.0);
    }
}
