import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Builds the ConvLLaVA Desktop installer for the current OS with the JDK's own tools (jdeps, jlink,
 * jpackage through {@link ToolProvider}), so the same steps run on Linux, Windows and macOS:
 *
 * <ol>
 *   <li>stage {@code app/target/convllava.jar} and its {@code lib/} (JavaFX platform jars, DJL,
 *       the pytorch-native jar for this platform), dropping the empty JavaFX stub jars and the
 *       native libraries of other platforms from the jars that carry several (tokenizers,
 *       sentencepiece, pytorch-jni, JNA), plus the tiny self-test model under {@code selftest/};</li>
 *   <li>{@code jdeps --print-module-deps} over the class path, then {@code jlink} a runtime of just
 *       those modules (plus jdk.unsupported, jdk.localedata for a few locales, jdk.crypto.ec);</li>
 *   <li>{@code jpackage}: the app image, then the native package(s): deb (and rpm when rpmbuild is
 *       there) on Linux, msi on Windows (needs WiX 3), dmg on macOS.</li>
 * </ol>
 *
 * Run from the project root after {@code mvn package}: {@code java installer/src/BuildInstaller.java
 * [--types app-image,deb] [--version 0.1.0] [--flavor cpu|cuda]}; {@code mvn -Pinstaller package} and
 * {@code installer/build.sh} do that. Output: {@code installer/target/jpackage/}.
 *
 * <p>{@code --flavor cuda} packages the app built with {@code -Pcuda} (pytorch-native-cu124): its libtorch
 * is extracted here into {@code libtorch/} of the app image (see {@link #stageLibtorch}) instead of being
 * shipped as a jar that DJL would extract into {@code ~/.djl.ai} at the first start (4 GB), and the
 * package is named {@code convllava-desktop-cuda}. Types: app-image and deb.
 */
public class BuildInstaller {
    static final String NAME = "ConvLLaVA";
    static final String MAIN_JAR = "convllava.jar";
    static final String MAIN_CLASS = "ai.convllava.app.Main";
    static final String VENDOR = "ConvLLaVA Desktop";
    static final String DESCRIPTION = "Ask questions about images with ConvLLaVA, locally";
    static final String COPYRIGHT = "ConvLLaVA Desktop authors";
    /** Locales kept from jdk.localedata (English and the ones in java.base need nothing). */
    static final String LOCALES = "en,de,fr,es,it,pt,nl,sv,pl,ru,uk,tr,ja,ko,zh";
    /** Fixed so that a newer msi upgrades an older one. */
    static final String WIN_UPGRADE_UUID = "6b0c6f1e-2f5e-4a53-9a1c-3c1f0e1d7a41";
    /**
     * The pre-extracted libtorch of the cuda flavour, relative to the app folder ({@code lib/app/} on
     * Linux, {@code app/} on Windows, jpackage's {@code $APPDIR}); the launcher passes it to the app as
     * {@code -Dconvllava.libtorch.bundled}, from where the app points DJL's PYTORCH_LIBRARY_PATH at it.
     */
    static final String LIBTORCH_DIR = "libtorch";
    /**
     * Sonames the CUDA libtorch links against that are not Debian dependencies: libcuda.so.1 is the
     * NVIDIA driver's (installed with the driver, often not from Debian's archive); the app must install
     * and run without it, on the CPU.
     */
    static final Set<String> DRIVER_LIBRARIES = Set.of("libcuda.so.1");

    final Path root;
    final Path out;
    final String os;
    final String djlPlatform;
    final String jnaPlatform;
    /** "cpu" (the libtorch stays in its pytorch-native jar) or "cuda" (pre-extracted into {@link #LIBTORCH_DIR}). */
    final String flavor;

    BuildInstaller(Path root, String flavor) {
        this.root = root;
        this.flavor = flavor;
        this.out = root.resolve("installer/target/jpackage");
        String n = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        boolean arm = arch.equals("aarch64") || arch.equals("arm64");
        if (n.contains("win")) {
            os = "windows";
            djlPlatform = "win-x86_64";
            jnaPlatform = "win32-x86-64";
        } else if (n.contains("mac")) {
            os = "mac";
            djlPlatform = arm ? "osx-aarch64" : "osx-x86_64";
            jnaPlatform = arm ? "darwin-aarch64" : "darwin-x86-64";
        } else {
            os = "linux";
            djlPlatform = arm ? "linux-aarch64" : "linux-x86_64";
            jnaPlatform = arm ? "linux-aarch64" : "linux-x86-64";
        }
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of("").toAbsolutePath();
        String types = null;
        String version = null;
        String flavor = "cpu";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root" -> root = Path.of(args[++i]).toAbsolutePath();
                case "--types" -> types = args[++i];
                case "--version" -> version = args[++i];
                case "--flavor" -> flavor = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (usage: BuildInstaller [--root DIR] [--types app-image,deb,rpm,msi,dmg] [--version X.Y.Z] [--flavor cpu|cuda])");
            }
        }
        if (!flavor.equals("cpu") && !flavor.equals("cuda")) {
            throw new IllegalArgumentException("--flavor " + flavor + ": cpu or cuda");
        }
        BuildInstaller b = new BuildInstaller(root, flavor);
        if (version == null || version.isBlank()) {
            version = "0.1.0";
        }
        version = version.replaceAll("[^0-9.].*$", ""); // 0.1.0-SNAPSHOT -> 0.1.0 (jpackage wants numbers)
        List<String> typeList = types == null || types.isBlank() || types.equals("auto") ? b.defaultTypes() : List.of(types.split(","));
        long t0 = System.nanoTime();
        try {
            b.build(version, typeList);
        } catch (BuildException e) {
            System.err.println("installer build FAILED: " + e.getMessage());
            System.exit(1);
        }
        System.out.printf("installer build done in %.0f s%n", (System.nanoTime() - t0) / 1e9);
    }

    List<String> defaultTypes() {
        if (cuda()) {
            return os.equals("linux") ? List.of("app-image", "deb") : List.of("app-image");
        }
        return switch (os) {
            case "windows" -> List.of("app-image", "msi");
            case "mac" -> List.of("app-image", "dmg");
            default -> onPath("rpmbuild") ? List.of("app-image", "deb", "rpm") : List.of("app-image", "deb");
        };
    }

    void build(String version, List<String> types) throws IOException {
        Path appJar = root.resolve("app/target").resolve(MAIN_JAR);
        Path libDir = root.resolve("app/target/lib");
        if (!Files.isRegularFile(appJar) || !Files.isDirectory(libDir)) {
            throw new BuildException(appJar + " or its lib/ is missing: build the app first (mvn -B package -DskipTests)");
        }
        deleteTree(out);
        Path input = out.resolve("input");
        Files.createDirectories(input.resolve("lib"));
        Files.copy(appJar, input.resolve(MAIN_JAR));
        stageLib(libDir, input.resolve("lib"));
        Path libtorch = out.resolve(LIBTORCH_DIR); // outside the input: see addLibtorchToDeb
        if (cuda()) {
            for (String type : types) {
                if (!type.equals("app-image") && !type.equals("deb")) {
                    throw new BuildException("--flavor cuda builds app-image and deb only, not " + type + ": the libtorch folder is added"
                            + " to the deb after jpackage (addLibtorchToDeb); the other package types have no such step yet");
                }
            }
            stageLibtorch(libDir, libtorch);
        }
        stageSelfTest(input.resolve("selftest"));
        System.out.printf("staged %s: %.1f MB%n", input, size(input) / 1e6);

        String modules = jdepsModules(input);
        Path runtime = out.resolve("runtime");
        run("jlink", "--add-modules", modules, "--include-locales", LOCALES, "--strip-debug", "--no-header-files", "--no-man-pages",
                "--compress=2", "--output", runtime.toString());
        System.out.printf("runtime %s (%s): %.1f MB%n", runtime, modules, size(runtime) / 1e6);

        Set<String> sonames = os.equals("linux") && types.stream().anyMatch(t -> t.equals("deb") || t.equals("rpm"))
                ? systemLibrariesNeeded(input.resolve("lib"), libtorch) : Set.of();
        for (String type : types) {
            List<String> a = new ArrayList<>(commonOptions(version, input, runtime));
            a.addAll(List.of("--type", type, "--dest", out.resolve(type.equals("app-image") ? "image" : "packages").toString()));
            if (!type.equals("app-image")) {
                a.addAll(packageOptions(type));
            }
            if (type.equals("deb") || type.equals("rpm")) {
                String deps = type.equals("deb") ? debDepends(sonames) : rpmRequires(sonames);
                System.out.println("package dependencies of the bundled natives (" + type + "): " + deps);
                a.addAll(List.of("--linux-package-deps", deps));
            }
            long t = System.nanoTime();
            run("jpackage", a.toArray(String[]::new));
            System.out.printf("jpackage --type %s done in %.0f s%n", type, (System.nanoTime() - t) / 1e9);
            if (cuda() && type.equals("app-image")) {
                Path appDir = out.resolve("image").resolve(os.equals("mac") ? NAME + ".app/Contents/app" : os.equals("windows") ? NAME + "/app" : NAME + "/lib/app");
                linkTree(libtorch, appDir.resolve(LIBTORCH_DIR));
            } else if (cuda() && type.equals("deb")) {
                long t2 = System.nanoTime();
                addLibtorchToDeb(out.resolve("packages"), libtorch);
                System.out.printf("libtorch added to the deb in %.0f s%n", (System.nanoTime() - t2) / 1e9);
            }
        }
        try (Stream<Path> s = Files.list(out.resolve(Files.isDirectory(out.resolve("packages")) ? "packages" : "image"))) {
            for (Path p : s.collect(Collectors.toList())) {
                System.out.printf("built %s: %.1f MB%n", p, size(p) / 1e6);
            }
        }
    }

    /** Copies the runtime jars, leaving out the JavaFX stubs and other platforms' natives. */
    void stageLib(Path from, Path to) throws IOException {
        // copy-dependencies adds to app/target/lib and never removes: after a build with the other profile
        // (-Pcuda or not) both DJL versions would be there and on the launcher's class path
        Map<String, String> artifacts = new java.util.HashMap<>();
        try (Stream<Path> s = Files.list(from)) {
            for (Path jar : s.sorted().collect(Collectors.toList())) {
                String name = jar.getFileName().toString();
                if (!name.endsWith(".jar")) {
                    continue;
                }
                if (name.startsWith("javafx-") && Files.size(jar) < 4096) {
                    continue; // the classifier-less javafx-*.jar are empty stubs; the -linux/-win/-mac ones hold the code
                }
                if (name.matches(".*-tests?\\.jar") || name.startsWith("junit-") || name.startsWith("testfx-") || name.contains("monocle")) {
                    throw new BuildException("test jar in app/target/lib: " + name);
                }
                String artifact = name.replaceFirst("-[0-9].*$", ""); // api-0.33.0.jar -> api
                String other = artifacts.put(artifact, name);
                if (other != null) {
                    throw new BuildException(from + " holds both " + other + " and " + name + ", left from a build with another profile:"
                            + " rebuild with mvn clean package" + (cuda() ? " -Pcuda" : ""));
                }
                if (name.startsWith("pytorch-native-") && !name.contains(djlPlatform)) {
                    throw new BuildException(name + " is not for this platform (" + djlPlatform + "): rebuild the app on this OS");
                }
                if (name.startsWith("pytorch-native-") && name.startsWith("pytorch-native-cu") != cuda()) {
                    throw new BuildException(name + " in app/target/lib does not fit --flavor " + flavor + ": build the app with"
                            + (cuda() ? " -Pcuda (installer/build.sh --flavor cuda does)" : "out -Pcuda"));
                }
                if (name.startsWith("pytorch-native-") && cuda()) {
                    continue; // stageLibtorch extracts it into libtorch/
                }
                trimNatives(jar, to.resolve(name));
            }
        }
    }

    boolean cuda() {
        return flavor.equals("cuda");
    }

    /**
     * The cuda flavour's libtorch, extracted at build time as DJL's LibUtils.copyNativeLibraryFromClasspath
     * would at the first start: the libraries listed in the pytorch-native jar's
     * {@code native/lib/pytorch.properties} from its {@code pytorch/<flavor>/<classifier>/}, plus the JNI
     * library of the same flavour from the pytorch-jni jar ({@code jnilib/<classifier>/<flavor>/}; DJL's
     * findJniLibrary looks in the libtorch folder first), and a {@code build-version} file as in
     * PyTorch's own libtorch archives ({@code 2.5.1+cu124}), from which the app sets PYTORCH_VERSION and
     * PYTORCH_FLAVOR. Extracting here rather than at the first start: 4 GB would otherwise be written
     * into every user's ~/.djl.ai, and the pytorch-native jar itself (2.5 GB) stays out of the image.
     */
    void stageLibtorch(Path libDir, Path to) throws IOException {
        Path nativeJar = onlyJar(libDir, "pytorch-native-");
        Path jniJar = onlyJar(libDir, "pytorch-jni-");
        Properties p = new Properties();
        String propsEntry = "native/lib/pytorch.properties";
        if (!readEntry(nativeJar, propsEntry, in -> p.load(in))) {
            throw new BuildException(nativeJar + " has no " + propsEntry);
        }
        String version = p.getProperty("version", "");   // 2.5.1-20241113
        String torchFlavor = p.getProperty("flavor", ""); // cu124
        String classifier = p.getProperty("classifier", "");
        List<String> libraries = List.of(p.getProperty("libraries", "").split(","));
        if (!version.matches("\\d+\\.\\d+\\.\\d+(-.*)?") || !torchFlavor.startsWith("cu") || !classifier.equals(djlPlatform)
                || libraries.contains("")) {
            throw new BuildException(nativeJar + "!/" + propsEntry + " is not a CUDA libtorch for " + djlPlatform + ": version=" + version
                    + " flavor=" + torchFlavor + " classifier=" + classifier + " libraries=" + libraries);
        }
        String torchVersion = version.replaceFirst("-.*", "");
        Files.createDirectories(to);
        String prefix = "pytorch/" + torchFlavor + "/" + classifier + "/";
        Set<String> missing = new TreeSet<>(libraries);
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(nativeJar))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                String n = e.getName();
                if (n.startsWith(prefix) && missing.remove(n.substring(prefix.length()))) {
                    Files.copy(in, to.resolve(n.substring(prefix.length())));
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new BuildException(nativeJar + " lacks " + missing.size() + " of the " + libraries.size() + " libraries its " + propsEntry
                    + " lists under " + prefix + ": " + missing);
        }
        String jniName = System.mapLibraryName("djl_torch"); // libdjl_torch.so, djl_torch.dll
        String jniEntry = "jnilib/" + classifier + "/" + torchFlavor + "/" + jniName;
        if (!readEntry(jniJar, jniEntry, in -> Files.copy(in, to.resolve(jniName)))) {
            throw new BuildException(jniJar + " has no " + jniEntry + ": the pytorch-jni version does not match " + nativeJar.getFileName());
        }
        Properties jni = new Properties();
        readEntry(jniJar, "jnilib/pytorch.properties", in -> jni.load(in));
        String jniVersion = jni.getProperty("jni_version", "");
        if (!jniVersion.startsWith(torchVersion + "-")) {
            // DJL's findJniLibrary makes the same check and would try to download the right one
            throw new BuildException(jniJar + "!/jnilib/pytorch.properties says jni_version=" + jniVersion + ", not for libtorch "
                    + torchVersion + " (" + nativeJar.getFileName() + ")");
        }
        Files.writeString(to.resolve("build-version"), torchVersion + "+" + torchFlavor + "\n");
        System.out.printf("  %s -> %s/: %d libraries + %s, build-version %s+%s, %.1f MB%n", nativeJar.getFileName(), LIBTORCH_DIR,
                libraries.size(), jniName, torchVersion, torchFlavor, size(to) / 1e6);
    }

    interface EntryReader {
        void read(java.io.InputStream in) throws IOException;
    }

    /** Reads one entry of a jar; false when it has none of that name. */
    static boolean readEntry(Path jar, String entry, EntryReader reader) throws IOException {
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(jar))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (e.getName().equals(entry)) {
                    reader.read(in);
                    return true;
                }
            }
        }
        return false;
    }

    static Path onlyJar(Path dir, String prefix) throws IOException {
        List<Path> jars;
        try (Stream<Path> s = Files.list(dir)) {
            jars = s.filter(f -> f.getFileName().toString().startsWith(prefix) && f.getFileName().toString().endsWith(".jar"))
                    .sorted().collect(Collectors.toList());
        }
        if (jars.size() != 1) {
            throw new BuildException("expected one " + prefix + "*.jar in " + dir + ", found " + jars.size() + ": " + jars);
        }
        return jars.get(0);
    }

    /**
     * Puts the libtorch folder into the cuda flavour's deb after jpackage built it without: jpackage runs
     * ldd on every .so of the image it packages and declares the Debian packages of what it finds, so
     * with libtorch in the image it declared whatever the build machine resolves libtorch's names to (a
     * Debian libtorch installed there brought OpenCV, GDAL and Qt into Depends; libcaffe2_nvrtc.so would
     * bring the driver's libcuda1 on a machine with the NVIDIA driver). The folder's real needs are in
     * the Depends from systemLibrariesNeeded. The deb is unpacked, the folder added, Installed-Size
     * raised by its size, and packed again with dpkg-deb (DPKG_DEB_COMPRESSOR_TYPE applies).
     */
    void addLibtorchToDeb(Path packages, Path libtorch) throws IOException {
        Path deb;
        try (Stream<Path> s = Files.list(packages)) {
            List<Path> debs = s.filter(f -> f.getFileName().toString().endsWith(".deb")).collect(Collectors.toList());
            if (debs.size() != 1) {
                throw new BuildException("expected one .deb in " + packages + " after jpackage, found " + debs);
            }
            deb = debs.get(0);
        }
        Path tree = out.resolve("deb-tree");
        deleteTree(tree);
        runProcess("dpkg-deb", "-R", deb.toString(), tree.toString());
        Path appDir = tree.resolve("opt/convllava-desktop-cuda/lib/app");
        if (!Files.isDirectory(appDir)) {
            throw new BuildException(deb + " has no opt/convllava-desktop-cuda/lib/app/: jpackage's layout changed, see addLibtorchToDeb");
        }
        linkTree(libtorch, appDir.resolve(LIBTORCH_DIR));
        Path control = tree.resolve("DEBIAN/control");
        List<String> lines = new ArrayList<>(Files.readAllLines(control));
        long addedKiB = 0;
        try (Stream<Path> s = Files.walk(libtorch)) {
            for (Path f : s.filter(Files::isRegularFile).collect(Collectors.toList())) {
                addedKiB += (Files.size(f) + 1023) / 1024; // dpkg counts each file in whole KiB
            }
        }
        boolean sized = false;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("Installed-Size:")) {
                long kiB = Long.parseLong(lines.get(i).substring("Installed-Size:".length()).trim());
                lines.set(i, "Installed-Size: " + (kiB + addedKiB));
                sized = true;
            }
        }
        if (!sized) {
            throw new BuildException(control + " in " + deb + " has no Installed-Size line");
        }
        Files.write(control, lines);
        Files.delete(deb);
        runProcess("fakeroot", "dpkg-deb", "-b", tree.toString(), deb.toString());
        deleteTree(tree);
    }

    /** Hard links of a folder's files (the same file system, 4 GB not copied again), copies where linking fails. */
    static void linkTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path f : s.collect(Collectors.toList())) {
                Path d = to.resolve(f.getFileName().toString());
                try {
                    Files.createLink(d, f);
                } catch (IOException | UnsupportedOperationException e) {
                    Files.copy(f, d);
                }
            }
        }
    }

    /**
     * Copies a jar without the native libraries of other platforms: DJL's {@code native/lib/<os-arch>/}
     * and {@code jnilib/<os-arch>/<flavor>/} (only the CPU flavor of this platform stays: the bundled
     * libtorch is the CPU build; the cuda flavour's JNI library goes to libtorch/) and JNA's {@code com/sun/jna/<os-arch>/}. Jars without such folders are
     * copied as they are.
     */
    void trimNatives(Path jar, Path dest) throws IOException {
        boolean any = false;
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(jar))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (dropped(e.getName())) {
                    any = true;
                    break;
                }
            }
        }
        if (!any) {
            Files.copy(jar, dest, StandardCopyOption.REPLACE_EXISTING);
            return;
        }
        try (ZipInputStream in = new ZipInputStream(Files.newInputStream(jar));
             ZipOutputStream zout = new ZipOutputStream(Files.newOutputStream(dest))) {
            zout.setLevel(9);
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (dropped(e.getName())) {
                    continue;
                }
                ZipEntry copy = new ZipEntry(e.getName());
                copy.setTime(e.getTime());
                zout.putNextEntry(copy);
                in.transferTo(zout);
                zout.closeEntry();
            }
        }
        System.out.printf("  %s: %.1f -> %.1f MB (other platforms' natives left out)%n", jar.getFileName(), Files.size(jar) / 1e6, Files.size(dest) / 1e6);
    }

    boolean dropped(String entry) {
        String[] p = entry.split("/");
        if (p.length >= 3 && ((p[0].equals("native") && p[1].equals("lib")))) {
            return p.length >= 4 && p[2].contains("-") && !p[2].equals(djlPlatform);
        }
        if (p.length >= 3 && p[0].equals("jnilib") && p[1].contains("-")) {
            return !p[1].equals(djlPlatform) || (p.length >= 4 && !p[2].equals("cpu"));
        }
        if (p.length >= 4 && p[0].equals("com") && p[1].equals("sun") && p[2].equals("jna") && p[3].contains("-")) {
            return !p[3].equals(jnaPlatform);
        }
        return false;
    }

    /**
     * Debian package of each system library that a bundled native links against. jpackage derives a
     * package's Depends from the binaries it sees in the image (the JDK runtime's), but JavaFX's glass
     * and prism, libtorch, the tokenizers and libwebp live inside jars and are extracted at run time, so
     * without these GTK 3 was missing and a fresh machine could not open the window. The alternatives
     * are Ubuntu 24.04's 64-bit time_t renames. A soname missing here fails the build (a JavaFX or DJL
     * upgrade that links something new must be looked at, not shipped with a hole).
     */
    static final Map<String, String> DEB_PACKAGE_OF = Map.ofEntries(
            Map.entry("libgtk-3.so.0", "libgtk-3-0 | libgtk-3-0t64"),
            Map.entry("libgdk-3.so.0", "libgtk-3-0 | libgtk-3-0t64"),
            Map.entry("libatk-1.0.so.0", "libatk1.0-0 | libatk1.0-0t64"),
            Map.entry("libpango-1.0.so.0", "libpango-1.0-0"),
            Map.entry("libpangocairo-1.0.so.0", "libpangocairo-1.0-0"),
            Map.entry("libpangoft2-1.0.so.0", "libpangoft2-1.0-0"),
            Map.entry("libcairo.so.2", "libcairo2"),
            Map.entry("libcairo-gobject.so.2", "libcairo-gobject2"),
            Map.entry("libgdk_pixbuf-2.0.so.0", "libgdk-pixbuf-2.0-0"),
            Map.entry("libglib-2.0.so.0", "libglib2.0-0 | libglib2.0-0t64"),
            Map.entry("libgobject-2.0.so.0", "libglib2.0-0 | libglib2.0-0t64"),
            Map.entry("libgio-2.0.so.0", "libglib2.0-0 | libglib2.0-0t64"),
            Map.entry("libgthread-2.0.so.0", "libglib2.0-0 | libglib2.0-0t64"),
            Map.entry("libfontconfig.so.1", "libfontconfig1"),
            Map.entry("libfreetype.so.6", "libfreetype6"),
            Map.entry("libX11.so.6", "libx11-6"),
            Map.entry("libXtst.so.6", "libxtst6"),
            Map.entry("libXxf86vm.so.1", "libxxf86vm1"),
            Map.entry("libGL.so.1", "libgl1"),
            Map.entry("libz.so.1", "zlib1g"), // the CUDA flavour's cuDNN (libcudnn_graph)
            Map.entry("libstdc++.so.6", "libstdc++6"),
            Map.entry("libgcc_s.so.1", "libgcc-s1"),
            Map.entry("libc.so.6", "libc6"),
            Map.entry("libm.so.6", "libc6"),
            Map.entry("libdl.so.2", "libc6"),
            Map.entry("libpthread.so.0", "libc6"),
            Map.entry("librt.so.1", "libc6"),
            Map.entry("ld-linux-x86-64.so.2", "libc6"),
            Map.entry("ld-linux-aarch64.so.1", "libc6"));

    /**
     * The system libraries (sonames) that the shared libraries inside the staged jars and in the
     * pre-extracted libtorch folder (cuda flavour) link against: {@code objdump -p}'s NEEDED entries of
     * every {@code .so} in them, less the ones they bring themselves (libtorch's libc10, its libgomp, the
     * CUDA flavour's cuBLAS, cuDNN, cudart) and the NVIDIA driver's ({@link #DRIVER_LIBRARIES}).
     */
    Set<String> systemLibrariesNeeded(Path lib, Path libtorch) throws IOException {
        Path tmp = Files.createTempDirectory("convllava-natives");
        try {
            Set<String> provided = new TreeSet<>();
            List<Path> natives = new ArrayList<>();
            List<Path> extracted = new ArrayList<>();
            if (Files.isDirectory(libtorch)) {
                try (Stream<Path> s = Files.list(libtorch)) {
                    for (Path f : s.sorted().collect(Collectors.toList())) {
                        if (f.getFileName().toString().matches(".*\\.so(\\.[0-9]+)*")) {
                            provided.add(f.getFileName().toString());
                            extracted.add(f);
                        }
                    }
                }
            }
            try (Stream<Path> s = Files.list(lib)) {
                for (Path jar : s.sorted().collect(Collectors.toList())) {
                    try (ZipInputStream in = new ZipInputStream(Files.newInputStream(jar))) {
                        for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                            String name = e.getName().substring(e.getName().lastIndexOf('/') + 1);
                            if (e.isDirectory() || !name.matches(".*\\.so(\\.[0-9]+)*")) {
                                continue;
                            }
                            provided.add(name);
                            Path f = tmp.resolve(natives.size() + "-" + name);
                            Files.copy(in, f);
                            natives.add(f);
                        }
                    }
                }
            }
            Set<String> needed = new TreeSet<>();
            for (Path f : natives) {
                String dump = runProcess("objdump", "-p", f.toString());
                for (String line : dump.split("\n")) {
                    String[] w = line.trim().split("\\s+");
                    if (w.length == 2 && w[0].equals("NEEDED")) {
                        needed.add(w[1]);
                    }
                }
                Files.delete(f); // libtorch_cpu alone is 450 MB: one at a time
            }
            for (Path f : extracted) {
                String dump = runProcess("objdump", "-p", f.toString());
                for (String line : dump.split("\n")) {
                    String[] w = line.trim().split("\\s+");
                    if (w.length == 2 && w[0].equals("NEEDED")) {
                        needed.add(w[1]);
                    }
                }
            }
            needed.removeAll(provided);
            Set<String> driver = new TreeSet<>(needed);
            driver.retainAll(DRIVER_LIBRARIES);
            needed.removeAll(DRIVER_LIBRARIES);
            System.out.printf("system libraries the %d bundled natives link against: %s%s%n", natives.size() + extracted.size(), needed,
                    driver.isEmpty() ? "" : " (and the GPU driver's " + driver + ", not declared: without it libtorch runs on the CPU)");
            return needed;
        } finally {
            deleteTree(tmp);
        }
    }

    /** The Depends entries for {@code sonames}: one per package, alternatives kept together. */
    static String debDepends(Set<String> sonames) {
        Set<String> packages = new TreeSet<>();
        List<String> unknown = new ArrayList<>();
        for (String so : sonames) {
            String p = DEB_PACKAGE_OF.get(so);
            if (p == null) {
                unknown.add(so);
            } else {
                packages.add(p);
            }
        }
        if (!unknown.isEmpty()) {
            throw new BuildException("no Debian package known for " + unknown + ", which the bundled natives link against:"
                    + " add it to DEB_PACKAGE_OF in installer/src/BuildInstaller.java (dpkg -S on a machine that has it tells)");
        }
        return String.join(", ", packages);
    }

    /** RPM's automatic soname capabilities, e.g. {@code libgtk-3.so.0()(64bit)}, which every RPM distribution's packages provide. */
    static String rpmRequires(Set<String> sonames) {
        return sonames.stream().filter(so -> !so.startsWith("ld-linux")).map(so -> so + "()(64bit)").collect(Collectors.joining(", "));
    }

    /** Runs an external program and returns its standard output; a failure throws with what it printed. */
    static String runProcess(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new BuildException(String.join(" ", cmd) + " exited with " + p.exitValue() + ":\n" + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BuildException(String.join(" ", cmd) + " was interrupted");
        }
        return output;
    }

    /**
     * The tiny ConvLLaVA-shaped fixture (~5 MB: random weights, real layout and tokenizer) and one chart
     * image, so that {@code --self-test} and Help > Self-test prove the installed app works offline
     * without the 15 GB model.
     */
    void stageSelfTest(Path to) throws IOException {
        Path tiny = root.resolve("tests/fixtures/tiny");
        for (String d : List.of("tiny-convllava", "tiny-convllava-convnext")) {
            copyTree(tiny.resolve(d), to.resolve(d));
        }
        Files.createDirectories(to.resolve("images"));
        Files.copy(tiny.resolve("images/wide.png"), to.resolve("images/wide.png"));
    }

    String jdepsModules(Path input) throws IOException {
        String classPath; // explicit: "lib/*" is expanded by the command-line launcher, not by the tool
        try (Stream<Path> s = Files.list(input.resolve("lib"))) {
            classPath = s.sorted().map(Path::toString).collect(Collectors.joining(java.io.File.pathSeparator));
        }
        List<String> a = new ArrayList<>(List.of("--multi-release", "17", "--ignore-missing-deps", "--print-module-deps", "-q", "--recursive",
                "--class-path", classPath, input.resolve(MAIN_JAR).toString()));
        String found = run("jdeps", a.toArray(String[]::new)).strip();
        Set<String> modules = new LinkedHashSet<>(List.of(found.split(",")));
        // not seen by jdeps: Unsafe users found reflectively (JavaFX, JNA), locale data (dates in the
        // conversation list), EC for any TLS, jdk.management for the JVM's own memory/CPU beans (and the
        // HotSpot options the float16 kernel checks); jdk.incubator.vector (the kernel) jdeps lists today,
        // kept here as the launcher's --add-modules (javaOptions) fails to start without it
        modules.addAll(List.of("jdk.unsupported", "jdk.localedata", "jdk.crypto.ec", "jdk.management", "jdk.incubator.vector"));
        return String.join(",", modules);
    }

    List<String> commonOptions(String version, Path input, Path runtime) {
        List<String> a = new ArrayList<>(List.of("--name", NAME, "--app-version", version, "--vendor", VENDOR, "--description", DESCRIPTION,
                "--copyright", COPYRIGHT, "--input", input.toString(), "--main-jar", MAIN_JAR, "--main-class", MAIN_CLASS,
                "--runtime-image", runtime.toString(), "--icon", icon().toString()));
        for (String o : javaOptions()) {
            a.add("--java-options");
            a.add(o);
        }
        if (os.equals("windows")) {
            // the GUI launcher has no console on Windows: a second launcher for the command line and --self-test
            a.addAll(List.of("--add-launcher", NAME + "-cli=" + root.resolve("installer/src/packaging/cli-launcher-windows.properties")));
        }
        if (os.equals("mac")) {
            a.addAll(List.of("--mac-package-identifier", "ai.convllava.desktop", "--mac-package-name", "ConvLLaVA"));
        }
        return a;
    }

    /** The launcher's JVM options (also in the README). */
    List<String> javaOptions() {
        List<String> o = new ArrayList<>(List.of(
                "-Dai.djl.offline=true",           // never download: libtorch comes from the bundled pytorch-native jar (cuda: libtorch/)
                "-Dfile.encoding=UTF-8",           // answers are Unicode; also the console output
                "-Xss4m",                          // as the tests run
                "-XX:MaxRAMPercentage=60",         // heap sized from the machine (8/4-bit weights live there); the rest stays for libtorch's tensors
                "-XX:MaxHeapFreeRatio=30",         // after the load's collection the heap gives back what the weights do not need
                "-XX:MinHeapFreeRatio=10",
                "-XX:MaxNewSize=64m",              // the young generation's pages stay resident beside the weights (Main.MAX_NEW_SIZE)
                "-XX:+UseSerialGC",                // G1 kept 0.2 GB of bookkeeping beside 4 GB of weight arrays (Main.GC)
                "-XX:-ShrinkHeapInSteps",          // after the load the heap shrinks to what the model holds at once (Main.SHRINK_AT_ONCE)
                "-Dprism.lcdtext=false",
                "--add-modules=jdk.incubator.vector", // the Java float16 matmul kernel (model/.../nn/HalfMatmul); libtorch's paths without it
                "-XX:LoopUnrollLimit=40")); // that kernel 25-35% faster: C2's default unrolling (60) spills its 9 accumulators
        if (cuda()) {
            o.add("-Dconvllava.libtorch.bundled=$APPDIR/" + LIBTORCH_DIR); // the app points DJL at the pre-extracted libtorch
        }
        if (Runtime.version().feature() >= 22) {
            o.add("--enable-native-access=ALL-UNNAMED"); // JNA/JavaFX natives without warnings (JDK 22+; unknown to 17)
        }
        return o;
    }

    List<String> packageOptions(String type) throws IOException {
        List<String> a = new ArrayList<>();
        Path license = licenseFile();
        if (license != null) {
            a.addAll(List.of("--license-file", license.toString()));
        }
        for (String assoc : List.of("png", "jpeg", "webp")) {
            a.add("--file-associations");
            a.add(root.resolve("installer/src/packaging/file-assoc-" + assoc + ".properties").toString());
        }
        switch (type) {
            case "deb", "rpm" -> {
                a.addAll(List.of("--linux-package-name", cuda() ? "convllava-desktop-cuda" : "convllava-desktop", "--linux-menu-group",
                        "Graphics;Science;ArtificialIntelligence;", "--linux-shortcut", "--linux-app-release", "1", "--resource-dir",
                        linuxResourceDir().toString()));
                if (type.equals("deb")) {
                    a.addAll(List.of("--linux-app-category", "graphics", "--linux-deb-maintainer", "convllava@localhost"));
                } else {
                    a.addAll(List.of("--linux-app-category", "Applications/Multimedia"));
                }
            }
            case "msi", "exe" -> a.addAll(List.of("--win-menu", "--win-menu-group", "ConvLLaVA", "--win-shortcut", "--win-dir-chooser",
                    "--win-per-user-install", "--win-upgrade-uuid", WIN_UPGRADE_UUID));
            case "dmg", "pkg" -> {
            }
            default -> throw new BuildException("unknown package type " + type);
        }
        return a;
    }

    /**
     * jpackage's resource folder for Linux: {@code packaging/linux/}; for the cuda flavour, that plus
     * {@code packaging/linux-cuda/} (its deb control template declares Conflicts/Replaces with the CPU
     * package, which installs into another /opt folder but the same menu entry and file associations).
     */
    Path linuxResourceDir() throws IOException {
        Path common = root.resolve("installer/src/packaging/linux");
        if (!cuda()) {
            return common;
        }
        Path merged = out.resolve("resources-cuda");
        deleteTree(merged);
        copyTree(common, merged);
        try (Stream<Path> s = Files.list(root.resolve("installer/src/packaging/linux-cuda"))) {
            for (Path f : s.collect(Collectors.toList())) {
                Files.copy(f, merged.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return merged;
    }

    Path icon() {
        String ext = switch (os) {
            case "windows" -> "ico";
            case "mac" -> "icns";
            default -> "png";
        };
        return root.resolve("installer/src/icons/convllava." + ext);
    }

    Path licenseFile() {
        for (String n : List.of("LICENSE", "LICENSE.txt", "LICENSE.md")) {
            if (Files.isRegularFile(root.resolve(n))) {
                return root.resolve(n);
            }
        }
        return null;
    }

    /** Runs a JDK tool in this JVM; its output is returned, and a failure throws with the tool's output. */
    static String run(String tool, String... args) {
        ToolProvider t = ToolProvider.findFirst(tool).orElseThrow(() -> new BuildException(
                tool + " not found in this JDK (" + System.getProperty("java.home") + "): use a full JDK 17+ (jpackage is in the jdk.jpackage module)"));
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        System.out.println("$ " + tool + " " + String.join(" ", args));
        int code = t.run(new PrintWriter(o, true), new PrintWriter(e, true), args);
        if (!o.toString().isBlank() && !tool.equals("jdeps")) {
            System.out.print(o);
        }
        if (code != 0) {
            throw new BuildException(tool + " exited with " + code + ":\n" + o + e);
        }
        if (!e.toString().isBlank()) {
            System.err.print(e);
        }
        return o.toString();
    }

    static boolean onPath(String exe) {
        String path = System.getenv("PATH");
        return path != null && Stream.of(path.split(java.io.File.pathSeparator)).anyMatch(d -> Files.isExecutable(Path.of(d, exe)));
    }

    static long size(Path p) throws IOException {
        if (Files.isRegularFile(p)) {
            return Files.size(p);
        }
        try (Stream<Path> s = Files.walk(p)) {
            return s.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path f : s.collect(Collectors.toList())) {
                Path d = to.resolve(from.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(d);
                } else {
                    Files.copy(f, d);
                }
            }
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.delete(f);
            }
        }
    }

    static final class BuildException extends RuntimeException {
        BuildException(String m) {
            super(m);
        }
    }
}
