package ai.convllava.model.api;

import ai.convllava.model.diagnostics.EngineVersions;
import ai.convllava.model.image.PdfPages;
import ai.convllava.model.nn.LinearLayer;
import ai.convllava.model.quant.NativeKernels;
import ai.convllava.model.runtime.LibtorchException;
import ai.convllava.model.runtime.LibtorchFolder;
import ai.convllava.model.runtime.LibtorchProbe;
import ai.convllava.model.runtime.LibtorchSetup;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/** What runs the model on this machine, for the self-test and diagnostics: one line each. */
public final class EngineInfo {
    private EngineInfo() {
    }

    /** Which code multiplies float16 weights with few rows (the Java kernel, or libtorch and why). */
    public static String halfKernelStatus() {
        return LinearLayer.halfKernelStatus();
    }

    /** Which code multiplies 8-bit and 4-bit weights with one token (the native int8 kernels, or the Java ones and why). */
    public static String quantKernelStatus() {
        return NativeKernels.status(); // not through QuantizedMatrix: its Vector API fields need the incubator module
    }

    /** Renders a page of text with the bundled PDF renderer: proves the runtime can open PDF documents. */
    public static String pdfSelfCheck() {
        return PdfPages.selfCheck();
    }

    public static String djlVersion() {
        return EngineVersions.djl();
    }

    /** Where DJL keeps the extracted libtorch. */
    public static String djlCacheDir() {
        return EngineVersions.djlCacheDir();
    }

    public static String pytorchVersion() {
        return EngineVersions.pytorch();
    }

    /**
     * Which libtorch this process loads, decided before anything loads DJL's engine.
     *
     * @param inUse             one line: the libtorch in use and where it comes from
     * @param refused           why a named folder (Settings, PYTORCH_LIBRARY_PATH) was not used, or null
     * @param restartWithoutEnv the environment's PYTORCH_LIBRARY_PATH must not reach DJL: start again without it
     *                          ({@link #LIBTORCH_ENV_VARIABLES}), with {@link #LIBTORCH_REFUSED_ENV} set to {@code refused}
     */
    public record LibtorchChoice(String inUse, String refused, boolean restartWithoutEnv) {
    }

    /** DJL's environment variables for a libtorch folder, removed for a restart without a refused one. */
    public static final java.util.List<String> LIBTORCH_ENV_VARIABLES = java.util.List.of("PYTORCH_LIBRARY_PATH", "PYTORCH_VERSION", "PYTORCH_FLAVOR");
    /** Carries a refusal into the restarted process, which reports it. */
    public static final String LIBTORCH_REFUSED_ENV = LibtorchSetup.REFUSED_ENV;

    /**
     * Chooses the libtorch: {@code settingsFolder} (or null), else PYTORCH_LIBRARY_PATH, else the GPU
     * package's, else the bundled one; a named folder is checked in a separate process first. Call once,
     * first thing, before any model or engine call.
     */
    public static LibtorchChoice chooseLibtorch(Path settingsFolder) {
        LibtorchSetup.Status s = LibtorchSetup.configure(settingsFolder);
        return new LibtorchChoice(s.describe(), s.refused(), s.dropEnv());
    }

    /** The libtorch in use, and any folder that was refused, in one line. */
    public static String libtorchStatus() {
        return LibtorchSetup.status().describe();
    }

    /**
     * Reads {@code folder} as a libtorch folder for this build without loading it (Settings checks the
     * field as it is typed): null when it looks usable, else what is wrong. Whether it loads is known at the
     * next start, which tries it in a separate process.
     */
    public static String libtorchFolderProblem(Path folder) {
        try {
            LibtorchFolder f = LibtorchFolder.inspect(folder, "libtorch folder", LibtorchFolder.Expectation.ofThisBuild());
            return null;
        } catch (LibtorchException | java.nio.file.InvalidPathException e) {
            return e.getMessage();
        }
    }

    /** Where {@code requested} would run and why, e.g. "the CPU: no NVIDIA GPU found (...)"; loads the engine. */
    public static String deviceStatus(Device requested) {
        try {
            return LibtorchSetup.choose(requested).reason();
        } catch (RuntimeException | LinkageError e) {
            return "unknown: the PyTorch engine did not load (" + e.getMessage() + ")";
        }
    }

    /** What the NVIDIA driver reports (GPU names, memory, driver and CUDA versions), or why there is no report. */
    public static String gpuDriverStatus() {
        return LibtorchSetup.driver().describe();
    }

    /** The CUDA flavour this build's PyTorch JNI supports (e.g. cu128), or null when it carries none for this OS. */
    public static String cudaFlavor() {
        return LibtorchFolder.Expectation.ofThisBuild().flavors().stream().filter(f -> f.startsWith("cu")).findFirst().orElse(null);
    }

    /**
     * Lets DJL download the CUDA libtorch matching this build ({@link #cudaFlavor}) into its cache, online,
     * in a separate process; only when the user asked for it. Each line of DJL's output goes to {@code lines}.
     *
     * @return the downloaded folder, to use as the Settings folder from the next start
     * @throws ConvLlavaException when there is nothing to download for this OS, or the download failed or was cancelled
     */
    public static Path downloadCudaLibtorch(Consumer<String> lines, BooleanSupplier cancelled) {
        String flavor = cudaFlavor();
        if (flavor == null) {
            throw new ConvLlavaException("this build carries no CUDA PyTorch JNI for " + LibtorchFolder.Expectation.ofThisBuild().classifier()
                    + ": there is no CUDA libtorch it could use");
        }
        LibtorchProbe.Result r = LibtorchProbe.download(flavor, Duration.ofHours(3), lines, cancelled);
        if (!r.ok() || r.libDir() == null) {
            throw new ConvLlavaException("downloading libtorch " + flavor + " through DJL failed: " + r.message());
        }
        return Path.of(r.libDir());
    }
}
