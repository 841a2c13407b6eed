package ai.convllava.model.runtime;

import ai.convllava.model.api.Device;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every way a GPU can be missing gets its own reason; the GPU is used when PyTorch sees one. */
class DeviceChoiceTest {
    static final NvidiaDriver NO_DRIVER = NvidiaDriver.none("no NVIDIA driver found (nvidia-smi is not installed or not on the PATH)");
    static final NvidiaDriver RTX = NvidiaDriver.parse("0, NVIDIA GeForce RTX 3060, 12288, 11904, 550.54.14\n", NvidiaDriverTest.HEADER_550);
    static final NvidiaDriver OLD = NvidiaDriver.parse("0, Tesla K80, 11441, 11000, 470.82.01\n", "Driver Version: 470.82.01  CUDA Version: 11.4");

    static DeviceChoice.Facts facts(String flavor, int torchGpus, NvidiaDriver d) {
        return new DeviceChoice.Facts("2.5.1", flavor, torchGpus, d, "Linux", "amd64");
    }

    @Test
    void theGpuWhenPyTorchSeesOne() {
        DeviceChoice c = DeviceChoice.decide(Device.AUTO, facts("cu124", 1, RTX));
        assertEquals(DeviceChoice.Kind.CUDA, c.kind());
        assertTrue(c.reason().contains("NVIDIA GeForce RTX 3060, 12.0 GiB"), c.reason());
        assertEquals(DeviceChoice.Kind.CUDA, DeviceChoice.decide(Device.GPU, facts("cu124", 1, RTX)).kind());
    }

    @Test
    void cpuWhenChosenEvenWithAGpu() {
        DeviceChoice c = DeviceChoice.decide(Device.CPU, facts("cu124", 1, RTX));
        assertEquals(DeviceChoice.Kind.CPU, c.kind());
        assertEquals("the CPU, as chosen (Device: CPU)", c.reason());
    }

    @Test
    void aCpuLibtorchOnAMachineWithAGpuSaysWhatToInstall() {
        DeviceChoice c = DeviceChoice.decide(Device.AUTO, facts("cpu", 0, RTX));
        assertEquals(DeviceChoice.Kind.CPU, c.kind());
        assertTrue(c.reason().contains("NVIDIA GPU is present (NVIDIA GeForce RTX 3060)") && c.reason().contains("convllava-desktop-cuda"), c.reason());
    }

    @Test
    void noDriverAtAll() {
        assertEquals("the CPU: no NVIDIA GPU found (no NVIDIA driver found (nvidia-smi is not installed or not on the PATH))",
                DeviceChoice.decide(Device.AUTO, facts("cpu", 0, NO_DRIVER)).reason());
        String r = DeviceChoice.decide(Device.AUTO, facts("cu124", 0, NO_DRIVER)).reason();
        assertTrue(r.startsWith("the CPU: this libtorch is built for CUDA 12.4 but no NVIDIA driver found") && r.endsWith("install the NVIDIA driver"), r);
    }

    @Test
    void aDriverTooOldForTheRuntime() {
        String r = DeviceChoice.decide(Device.AUTO, facts("cu124", 0, OLD)).reason();
        assertEquals("the CPU: the NVIDIA driver 470.82.01 supports CUDA up to 11.4, but this libtorch needs CUDA 12.4: update the driver", r);
    }

    @Test
    void aDriverThatListsAGpuPyTorchDoesNotSee() {
        String r = DeviceChoice.decide(Device.AUTO, facts("cu124", 0, RTX)).reason();
        assertTrue(r.contains("lists NVIDIA GeForce RTX 3060 but PyTorch sees no CUDA device"), r);
    }

    @Test
    void minorVersionCompatibilityWithinAMajorVersion() {
        assertTrue(DeviceChoice.olderThan("11.8", "12.4"));
        assertTrue(!DeviceChoice.olderThan("12.2", "12.4"), "CUDA 12.x runtimes run on any 12.x driver");
        assertTrue(!DeviceChoice.olderThan("13.0", "12.8"));
    }

    @Test
    void appleSiliconOffersMpsOnlyWhenAskedFor() {
        DeviceChoice.Facts mac = new DeviceChoice.Facts("2.7.1", "cpu", 0, NvidiaDriver.none("macOS"), "Mac OS X", "aarch64");
        assertEquals(DeviceChoice.Kind.MPS, DeviceChoice.decide(Device.GPU, mac).kind());
        DeviceChoice auto = DeviceChoice.decide(Device.AUTO, mac);
        assertEquals(DeviceChoice.Kind.CPU, auto.kind());
        assertTrue(auto.reason().contains("choose Device: GPU to try it"), auto.reason());
    }

    @Test
    void gpuMemoryRefusalNamesTheNumbers() {
        assertNull(DeviceChoice.gpuMemoryProblem(10L << 30, RTX));
        assertEquals("the model needs about 15.0 GiB of GPU memory in float16 but NVIDIA GeForce RTX 3060 has 11.6 GiB free of 12.0 GiB",
                DeviceChoice.gpuMemoryProblem(15L << 30, RTX));
        assertNull(DeviceChoice.gpuMemoryProblem(15L << 30, NO_DRIVER), "no figures, no refusal");
    }

    @Test
    void cudaVersionOfAFlavor() {
        assertEquals("12.4", LibtorchFolder.cudaVersion("cu124"));
        assertEquals("11.8", LibtorchFolder.cudaVersion("cu118"));
        assertNull(LibtorchFolder.cudaVersion("cpu"));
    }
}
