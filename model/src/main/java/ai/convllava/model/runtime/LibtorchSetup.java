package ai.convllava.model.runtime;

import ai.convllava.model.api.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.StandardCapabilities;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.util.Platform;
import ai.djl.util.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Chooses the libtorch this process loads, once, before anything touches DJL's engine. In order: the
 * folder named in Settings, then DJL's {@code PYTORCH_LIBRARY_PATH} environment variable, then the folder
 * the GPU package unpacked beside the app ({@code -Dconvllava.libtorch.bundled}), then the libtorch in the
 * app's jars. A named folder is read ({@link LibtorchFolder#inspect}) and loaded once in a child JVM
 * ({@link LibtorchProbe}; the outcome is remembered per folder and file date) before it is handed to DJL;
 * one that fails is refused with its reason, which {@link #status} keeps for Settings and the self-test, and
 * the next candidate is used.
 */
public final class LibtorchSetup {
    private static final Logger LOG = LoggerFactory.getLogger(LibtorchSetup.class);
    /** Set by the launcher of the GPU package: the libtorch folder it unpacked. */
    public static final String BUNDLED_PROPERTY = "convllava.libtorch.bundled";
    /** DJL's environment variable for a libtorch folder. */
    public static final String ENV = "PYTORCH_LIBRARY_PATH";
    /**
     * Set in the environment of a process restarted without a refused {@code PYTORCH_LIBRARY_PATH}: the
     * refusal, to report there (DJL reads the environment before system properties, so a refused variable
     * can only be dropped by starting again without it).
     */
    public static final String REFUSED_ENV = "CONVLLAVA_LIBTORCH_REFUSED";
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(90);

    /**
     * The outcome.
     *
     * @param folder     the folder in use, or null for the libtorch in the app's jars
     * @param refused    why a named folder was not used, or null
     * @param dropEnv    the environment's PYTORCH_LIBRARY_PATH was refused: restart without it before loading DJL
     */
    public record Status(LibtorchFolder folder, String refused, boolean dropEnv) {
        /** One line: which libtorch, from where. */
        public String describe() {
            String using = folder != null ? folder.describe() : "the libtorch bundled in the app's jars";
            return refused == null ? using : using + "; not used: " + refused;
        }
    }

    private static Status status;

    private LibtorchSetup() {
    }

    /**
     * Picks the libtorch (once per process; later calls return the first outcome).
     *
     * @param settingsFolder the folder named in Settings, or null
     */
    public static synchronized Status configure(Path settingsFolder) {
        if (status == null) {
            status = choose(settingsFolder, System.getenv(ENV), System.getProperty(BUNDLED_PROPERTY), System.getenv(REFUSED_ENV),
                    LibtorchFolder.Expectation.ofThisBuild(), LibtorchSetup::probeCached);
            if (status.folder() != null) {
                status.folder().applyToDjl();
            }
            LOG.info("libtorch: {}", status.describe());
        }
        return status;
    }

    /** The outcome of {@link #configure}, configuring with no Settings folder if nothing did yet. */
    public static synchronized Status status() {
        return status != null ? status : configure(null);
    }

    interface Prober {
        LibtorchProbe.Result probe(LibtorchFolder f);
    }

    static Status choose(Path settingsFolder, String env, String bundled, String refusedBefore, LibtorchFolder.Expectation expect, Prober prober) {
        List<String> refused = new ArrayList<>();
        if (refusedBefore != null && !refusedBefore.isBlank()) {
            refused.add(refusedBefore);
        }
        boolean dropEnv = false;
        record Candidate(String dir, String origin, boolean trusted) { }
        List<Candidate> candidates = new ArrayList<>();
        if (settingsFolder != null) {
            candidates.add(new Candidate(settingsFolder.toString(), "Settings > Engine > libtorch folder", false));
        }
        if (env != null && !env.isBlank()) {
            candidates.add(new Candidate(env, ENV, false));
        }
        if (bundled != null && !bundled.isBlank()) {
            candidates.add(new Candidate(bundled, "the GPU package", true)); // built with this app: read, not probed
        }
        for (Candidate c : candidates) {
            try {
                LibtorchFolder f = LibtorchFolder.inspect(Path.of(c.dir()), c.origin(), expect);
                if (!c.trusted()) {
                    LibtorchProbe.Result r = prober.probe(f);
                    if (!r.ok()) {
                        throw new LibtorchException(c.origin() + ": " + f.libDir() + " (libtorch " + f.version() + " " + f.flavor() + "): " + r.message());
                    }
                }
                // the environment variable wins over the properties DJL is given: if it names another folder it must go
                boolean envElsewhere = env != null && !env.isBlank() && !c.origin().equals(ENV);
                return new Status(f, refused.isEmpty() ? null : String.join("; ", refused), envElsewhere);
            } catch (LibtorchException | java.nio.file.InvalidPathException e) {
                refused.add(e.getMessage());
                if (c.origin().equals(ENV)) {
                    dropEnv = true;
                }
            }
        }
        return new Status(null, refused.isEmpty() ? null : String.join("; ", refused), dropEnv);
    }

    /** {@link LibtorchProbe#run}, remembered per folder, library size and date and this build's JNI version. */
    static LibtorchProbe.Result probeCached(LibtorchFolder f) {
        Path lib = f.libDir().resolve(System.mapLibraryName("torch"));
        String key;
        try {
            key = f.libDir() + "|" + Files.size(lib) + "|" + Files.getLastModifiedTime(lib).toMillis() + "|" + LibtorchFolder.Expectation.ofThisBuild().jniVersion();
        } catch (IOException e) {
            return LibtorchProbe.Result.failed("cannot read " + lib + ": " + e.getMessage());
        }
        Path file = Utils.getCacheDir().resolve("convllava-libtorch-checks.properties");
        Properties cache = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            cache.load(in);
        } catch (IOException e) {
            // no checks remembered yet
        }
        String hit = cache.getProperty(key);
        if (hit != null && hit.startsWith("ok|")) {
            String[] p = hit.split("\\|", 4);
            return new LibtorchProbe.Result(true, p[1], Integer.parseInt(p[2]), p[3], null);
        }
        LOG.info("checking {} in a separate process", f.describe());
        LibtorchProbe.Result r = LibtorchProbe.run(f, PROBE_TIMEOUT);
        if (r.ok()) { // a failure is checked again next time: the user may be fixing the folder
            cache.setProperty(key, "ok|" + r.version() + "|" + r.gpus() + "|" + r.libDir());
            try {
                Files.createDirectories(file.getParent());
                try (OutputStream out = Files.newOutputStream(file)) {
                    cache.store(out, "libtorch folders ConvLLaVA Desktop loaded in a test process");
                }
            } catch (IOException e) {
                LOG.debug("cannot remember the libtorch check in {}: {}", file, e.toString());
            }
        }
        return r;
    }

    /** The flavour of the libtorch in use: the chosen folder's, else the bundled jar's (cpu, or cu124 in a GPU build run with java -jar). */
    public static String flavor() {
        Status s = status();
        if (s.folder() != null) {
            return s.folder().flavor();
        }
        try {
            String f = Platform.detectPlatform("pytorch").getFlavor();
            return f == null ? "cpu" : f.replace("-precxx11", "");
        } catch (RuntimeException | LinkageError e) {
            return "cpu";
        }
    }

    /** The facts {@link DeviceChoice#decide} needs; loads the engine (after {@link #configure}) and asks nvidia-smi once. */
    public static DeviceChoice.Facts facts() {
        status();
        Engine e = Engine.getEngine("PyTorch");
        return new DeviceChoice.Facts(e.getVersion(), flavor(), torchGpuCount(), driver(), System.getProperty("os.name", ""),
                System.getProperty("os.arch", ""));
    }

    private static Integer torchGpus;

    /**
     * CUDA devices libtorch can use (asked once per process). DJL counts them with the system's CUDA runtime
     * library ({@code CudaUtils}, through JNA), which a machine with only the NVIDIA driver does not have, while
     * a CUDA libtorch brings its own; so when DJL says none, one float is put on GPU 0 to ask libtorch itself
     * (a machine without a usable GPU answers with a Java exception, not a crash).
     */
    public static synchronized int torchGpuCount() {
        if (torchGpus == null) {
            Engine e = Engine.getEngine("PyTorch");
            int n = 0;
            if (e.hasCapability(StandardCapabilities.CUDA)) {
                n = e.getGpuCount();
                if (n == 0) {
                    try (NDManager m = NDManager.newBaseManager(ai.djl.Device.gpu(0), "PyTorch")) {
                        m.zeros(new Shape(1)).toFloatArray();
                        n = Math.max(1, driver().gpus().size());
                    } catch (RuntimeException ex) {
                        LOG.info("libtorch {} has CUDA but cannot use GPU 0: {}", e.getVersion(), ex.getMessage());
                    }
                }
            }
            torchGpus = n;
        }
        return torchGpus;
    }

    private static NvidiaDriver driver;

    /** nvidia-smi's report, asked once per process (its memory figures are of that moment). */
    public static synchronized NvidiaDriver driver() {
        if (driver == null) {
            driver = NvidiaDriver.query();
        }
        return driver;
    }

    /** Where {@code requested} runs on this machine, and why. */
    public static DeviceChoice choose(Device requested) {
        if (requested == Device.CPU) {
            return DeviceChoice.decide(requested, null);
        }
        return DeviceChoice.decide(requested, facts());
    }
}
