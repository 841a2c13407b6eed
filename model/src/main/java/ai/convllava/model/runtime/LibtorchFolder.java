package ai.convllava.model.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A libtorch folder other than the one in the app's jars: one the user names (Settings, or DJL's
 * {@code PYTORCH_LIBRARY_PATH}), or the one the GPU installer unpacks beside the app. DJL would load
 * whatever it is pointed at, and a libtorch of another version than the JNI library this build carries
 * crashes the JVM (or fails with an unreadable link error), so a folder is read first: the library is
 * there, its version and flavour (cpu, cu124, ...) are known, the version is the one the JNI was built
 * for, and a JNI for that flavour exists. Only then does {@link #applyToDjl} hand it to DJL.
 *
 * @param libDir  the folder holding libtorch.so / torch.dll / libtorch.dylib
 * @param version e.g. 2.7.1
 * @param flavor  cpu, cu124, cu128, ...
 * @param origin  where the folder came from, for messages ("Settings > Engine", "PYTORCH_LIBRARY_PATH", "the GPU package")
 */
public record LibtorchFolder(Path libDir, String version, String flavor, String origin) {
    /** DJL's names for the CUDA flavours a PyTorch JNI may be built for, newest first. */
    static final List<String> CUDA_FLAVORS = List.of("cu130", "cu129", "cu128", "cu126", "cu124", "cu121", "cu118", "cu117");
    private static final Pattern VERSION_PY = Pattern.compile("(?m)^__version__\\s*=\\s*['\"]([^'\"]+)['\"]");
    /** DJL's cache folders: {@code 2.7.1-20250812-cpu-linux-x86_64}, {@code 2.7.1-cu128-precxx11-linux-x86_64}. */
    private static final Pattern DJL_CACHE_NAME = Pattern.compile("(\\d+\\.\\d+\\.\\d+)(?:-\\d{8})?-(cpu|cu\\d+)(?:-precxx11)?-[a-z]+-[a-z0-9_]+");
    private static final Pattern PLAIN_VERSION = Pattern.compile("(\\d+\\.\\d+\\.\\d+)(?:\\+(cpu|cu\\d+))?");

    public boolean cuda() {
        return flavor.startsWith("cu");
    }

    /** CUDA major.minor of a flavour: cu124 is 12.4, cu118 is 11.8; null for cpu. */
    public static String cudaVersion(String flavor) {
        if (flavor == null || !flavor.matches("cu\\d{3,}")) {
            return null;
        }
        String digits = flavor.substring(2);
        return digits.substring(0, digits.length() - 1) + "." + digits.charAt(digits.length() - 1);
    }

    /** Tells DJL to load this folder: its three settings, as system properties (DJL reads the environment first). */
    public void applyToDjl() {
        System.setProperty("PYTORCH_LIBRARY_PATH", libDir.toString());
        System.setProperty("PYTORCH_VERSION", version);
        System.setProperty("PYTORCH_FLAVOR", djlFlavor(flavor, driverLibraryPresent()));
    }

    /**
     * The flavour DJL is told. For a flavour starting with "cu" DJL's LibUtils loads libcaffe2_nvrtc
     * itself, which links the NVIDIA driver's libcuda.so.1 (nvcuda.dll): without the driver the engine
     * would not load at all. Told "cpu", DJL loads what libtorch links (libtorch_cuda included), CUDA finds
     * no device and the model runs on the CPU; the folder's own flavour stays what is reported.
     */
    static String djlFlavor(String flavor, boolean driverLibrary) {
        return flavor.startsWith("cu") && !driverLibrary ? "cpu" : flavor;
    }

    /** Whether the NVIDIA driver's library is where the dynamic linker would find it, looked up without loading it. */
    static boolean driverLibraryPresent() {
        return DriverLibrary.PRESENT; // looked up once: the driver does not come or go while the process runs
    }

    /** Holds the one lookup of the driver's library (on first use; it may start ldconfig). */
    private static final class DriverLibrary {
        static final boolean PRESENT = lookUp();
    }

    private static boolean lookUp() {
        if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("win")) {
            String root = System.getenv("SystemRoot");
            return Files.isRegularFile(Path.of(root == null ? "C:\\Windows" : root, "System32", "nvcuda.dll"));
        }
        String name = "libcuda.so.1";
        List<String> dirs = new ArrayList<>();
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) {
            dirs.addAll(List.of(ld.split(":")));
        }
        dirs.addAll(List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib64", "/usr/lib/wsl/lib",
                "/usr/local/nvidia/lib64"));
        for (String d : dirs) {
            if (!d.isBlank() && Files.exists(Path.of(d, name))) {
                return true;
            }
        }
        for (String ldconfig : List.of("/sbin/ldconfig", "/usr/sbin/ldconfig")) { // the folders of /etc/ld.so.conf.d
            if (Files.isExecutable(Path.of(ldconfig))) {
                try {
                    Process p = new ProcessBuilder(ldconfig, "-p").redirectErrorStream(true).start();
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    p.waitFor();
                    return out.contains(name + " ");
                } catch (IOException e) {
                    return false;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return false;
    }

    public String describe() {
        return "libtorch " + version + " " + flavor + " in " + libDir + " (" + origin + ")";
    }

    /**
     * What this build's PyTorch JNI expects: the libtorch version it was compiled against and the
     * flavours it carries a JNI library for on this platform.
     */
    public record Expectation(String version, String jniVersion, String classifier, List<String> flavors) {
        /** Read from pytorch-jni's {@code jnilib/pytorch.properties} and its {@code jnilib/<classifier>/<flavour>/} entries. */
        public static Expectation ofThisBuild() {
            return ThisBuild.EXPECTATION; // read once: the jars on the class path do not change
        }

        /** Holds this build's expectation, read from the jars on first use. */
        private static final class ThisBuild {
            static final Expectation EXPECTATION = read();
        }

        private static Expectation read() {
            String classifier = LibtorchFolder.classifier(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
            String jni = null;
            ClassLoader cl = LibtorchFolder.class.getClassLoader();
            try (InputStream in = cl.getResourceAsStream("jnilib/pytorch.properties")) {
                if (in != null) {
                    Properties p = new Properties();
                    p.load(in);
                    jni = p.getProperty("jni_version");
                }
            } catch (IOException e) {
                jni = null;
            }
            String jniName = System.mapLibraryName("djl_torch");
            List<String> flavors = new ArrayList<>();
            for (String f : Stream.concat(Stream.of("cpu"), CUDA_FLAVORS.stream()).toList()) {
                if (cl.getResource("jnilib/" + classifier + "/" + f + "/" + jniName) != null) {
                    flavors.add(f);
                }
            }
            String version = jni == null ? null : jni.replaceFirst("-.*", "");
            return new Expectation(version, jni, classifier, List.copyOf(flavors));
        }
    }

    /** DJL's platform classifier: linux-x86_64, linux-aarch64, osx-aarch64, win-x86_64. */
    static String classifier(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        String prefix = os.startsWith("win") ? "win" : os.startsWith("mac") ? "osx" : "linux";
        String arch = osArch.equals("amd64") || osArch.equals("x86_64") ? "x86_64" : osArch.equals("arm64") ? "aarch64" : osArch;
        return prefix + "-" + arch;
    }

    /**
     * Reads {@code given} as a libtorch folder. Accepted: the folder with the libraries (libtorch's
     * {@code lib/}, pip's {@code torch/lib}, a DJL cache folder), its parent ({@code libtorch/}), or the
     * libtorch library file itself.
     *
     * @throws LibtorchException naming the folder and what is wrong with it
     */
    public static LibtorchFolder inspect(Path given, String origin, Expectation expect) {
        Path p = given.toAbsolutePath().normalize();
        String libName = System.mapLibraryName("torch");
        if (Files.isRegularFile(p) && p.getFileName().toString().equals(libName)) {
            p = p.getParent();
        }
        if (!Files.isDirectory(p)) {
            throw new LibtorchException(origin + ": " + p + (Files.exists(p) ? " is not a folder" : " does not exist"));
        }
        if (!Files.isRegularFile(p.resolve(libName)) && Files.isRegularFile(p.resolve("lib").resolve(libName))) {
            p = p.resolve("lib");
        }
        if (!Files.isRegularFile(p.resolve(libName))) {
            throw new LibtorchException(origin + ": " + p + " has no " + libName
                    + "; choose the lib folder of PyTorch's libtorch download, or torch/lib of a pip install of torch");
        }
        String[] vf = versionOf(p).orElseThrow(() -> new LibtorchException(origin + ": cannot tell which PyTorch version "
                + given + " holds (no build-version file beside it, no torch/version.py, no version in its name)"));
        String version = vf[0];
        String flavor = vf[1];
        if (expect.version() == null) {
            throw new LibtorchException("this build carries no PyTorch JNI (jnilib/pytorch.properties is missing from its jars): it cannot load "
                    + p);
        }
        if (!version.equals(expect.version())) {
            throw new LibtorchException(origin + ": " + p + " is libtorch " + version + (flavor.equals("cpu") ? "" : "+" + flavor)
                    + ", but this build's PyTorch JNI (" + expect.jniVersion() + ") works only with libtorch " + expect.version()
                    + "; use libtorch " + expect.version() + (expect.flavors().stream().anyMatch(f -> f.startsWith("cu"))
                    ? " (" + String.join(" or ", expect.flavors()) + ")" : "")
                    + (origin.equals(LibtorchSetup.ENV) ? ", or unset " + LibtorchSetup.ENV : ", or none for the bundled one"));
        }
        if (flavor.startsWith("cu") && !Files.isRegularFile(p.resolve(System.mapLibraryName("torch_cuda")))) {
            throw new LibtorchException(origin + ": " + p + " says it is libtorch " + version + "+" + flavor + " but has no "
                    + System.mapLibraryName("torch_cuda") + ": the download looks incomplete");
        }
        boolean jniInFolder;
        try (Stream<Path> files = Files.list(p)) {
            String jni = System.mapLibraryName("djl_torch");
            jniInFolder = files.anyMatch(f -> f.getFileName().toString().endsWith(jni));
        } catch (IOException e) {
            throw new LibtorchException(origin + ": cannot list " + p + ": " + e.getMessage(), e);
        }
        if (!jniInFolder && !expect.flavors().contains(flavor)) {
            throw new LibtorchException(origin + ": " + p + " is libtorch " + version + "+" + flavor + ", but this build carries the PyTorch JNI for "
                    + String.join(", ", expect.flavors()) + " only (" + expect.classifier() + "); use one of those");
        }
        return new LibtorchFolder(p, version, flavor, origin);
    }

    /** {version, flavour} from a build-version file, pip's torch/version.py or a DJL cache folder's name. */
    static Optional<String[]> versionOf(Path libDir) {
        for (Path f : new Path[]{libDir.resolve("build-version"), libDir.getParent() == null ? null : libDir.getParent().resolve("build-version")}) {
            if (f != null && Files.isRegularFile(f)) {
                Optional<String[]> v = parseVersion(read(f).strip());
                if (v.isPresent()) {
                    return v;
                }
            }
        }
        Path versionPy = libDir.getParent() == null ? null : libDir.getParent().resolve("version.py");
        if (versionPy != null && Files.isRegularFile(versionPy)) {
            Matcher m = VERSION_PY.matcher(read(versionPy));
            if (m.find()) {
                String v = m.group(1);
                Optional<String[]> parsed = parseVersion(v);
                // an unparseable pip version (1.13.0a0, 2.8.0.dev...) is still named, so that the mismatch message can say it
                return Optional.of(parsed.orElse(new String[]{v.replaceFirst("\\+.*", ""), v.contains("+cu") ? v.replaceFirst(".*\\+", "") : "cpu"}));
            }
        }
        Matcher m = DJL_CACHE_NAME.matcher(libDir.getFileName().toString());
        if (m.matches()) {
            return Optional.of(new String[]{m.group(1), m.group(2)});
        }
        return Optional.empty();
    }

    /** {@code 2.7.1}, {@code 2.7.1+cpu}, {@code 2.5.1+cu124}. */
    static Optional<String[]> parseVersion(String s) {
        Matcher m = PLAIN_VERSION.matcher(s);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(new String[]{m.group(1), m.group(2) == null ? "cpu" : m.group(2)});
    }

    private static String read(Path f) {
        try {
            byte[] b = Files.readAllBytes(f);
            return new String(b, 0, Math.min(b.length, 4096), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
