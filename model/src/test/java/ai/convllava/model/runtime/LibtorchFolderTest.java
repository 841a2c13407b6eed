package ai.convllava.model.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A libtorch folder is read before DJL sees it: each wrong folder is refused with its own reason. */
class LibtorchFolderTest {
    static final LibtorchFolder.Expectation DJL036 = new LibtorchFolder.Expectation("2.7.1", "2.7.1-0.36.0", "linux-x86_64", List.of("cpu", "cu128"));
    static final String TORCH = System.mapLibraryName("torch");

    @TempDir
    Path tmp;

    static Path lib(Path dir, String... files) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(TORCH), "not really a library");
        for (String f : files) {
            Files.writeString(dir.resolve(f), "x");
        }
        return dir;
    }

    @Test
    void libtorchZipLayoutFromItsRootOrLibFolder() throws IOException {
        Path root = tmp.resolve("libtorch");
        lib(root.resolve("lib"), System.mapLibraryName("torch_cuda"));
        Files.writeString(root.resolve("build-version"), "2.7.1+cu128\n");
        for (Path given : List.of(root, root.resolve("lib"), root.resolve("lib").resolve(TORCH))) {
            LibtorchFolder f = LibtorchFolder.inspect(given, "Settings", DJL036);
            assertEquals(root.resolve("lib").toAbsolutePath(), f.libDir());
            assertEquals("2.7.1", f.version());
            assertEquals("cu128", f.flavor());
            assertTrue(f.cuda());
        }
    }

    @Test
    void pipTorchLibWithVersionPy() throws IOException {
        Path torch = tmp.resolve("site-packages").resolve("torch");
        lib(torch.resolve("lib"));
        Files.writeString(torch.resolve("version.py"), "from typing import Optional\n__version__ = '2.7.1+cpu'\ncuda: Optional[str] = None\n");
        LibtorchFolder f = LibtorchFolder.inspect(torch.resolve("lib"), "Settings", DJL036);
        assertEquals("cpu", f.flavor());
    }

    @Test
    void djlCacheFolderByItsName() throws IOException {
        LibtorchFolder f = LibtorchFolder.inspect(lib(tmp.resolve("2.7.1-20250812-cpu-linux-x86_64")), "PYTORCH_LIBRARY_PATH", DJL036);
        assertEquals("2.7.1", f.version());
        assertEquals("cpu", f.flavor());
        assertEquals("cu128", LibtorchFolder.versionOf(lib(tmp.resolve("2.7.1-cu128-precxx11-linux-x86_64"))).orElseThrow()[1]);
    }

    @Test
    void missingFolderOrLibraryOrVersion() throws IOException {
        String gone = assertThrows(LibtorchException.class, () -> LibtorchFolder.inspect(tmp.resolve("nope"), "Settings", DJL036)).getMessage();
        assertEquals("Settings: " + tmp.resolve("nope") + " does not exist", gone);
        Files.createDirectories(tmp.resolve("empty"));
        String noLib = assertThrows(LibtorchException.class, () -> LibtorchFolder.inspect(tmp.resolve("empty"), "Settings", DJL036)).getMessage();
        assertTrue(noLib.contains("has no " + TORCH), noLib);
        String noVersion = assertThrows(LibtorchException.class, () -> LibtorchFolder.inspect(lib(tmp.resolve("anon")), "Settings", DJL036)).getMessage();
        assertTrue(noVersion.contains("cannot tell which PyTorch version"), noVersion);
    }

    @Test
    void anotherVersionIsRefusedWithBothVersions() throws IOException {
        Path torch = tmp.resolve("dist-packages").resolve("torch");
        lib(torch.resolve("lib"));
        Files.writeString(torch.resolve("version.py"), "__version__ = '1.13.0a0'\ncuda = None\n");
        String m = assertThrows(LibtorchException.class, () -> LibtorchFolder.inspect(torch.resolve("lib"), "Settings", DJL036)).getMessage();
        assertTrue(m.contains("is libtorch 1.13.0a0, but this build's PyTorch JNI (2.7.1-0.36.0) works only with libtorch 2.7.1"), m);
        assertTrue(m.endsWith(", or none for the bundled one"), m);
    }

    @Test
    void aFlavourWithoutAJniIsRefused() throws IOException {
        Path root = tmp.resolve("libtorch");
        lib(root.resolve("lib"), System.mapLibraryName("torch_cuda"));
        Files.writeString(root.resolve("build-version"), "2.7.1+cu126");
        String m = assertThrows(LibtorchException.class, () -> LibtorchFolder.inspect(root, "Settings", DJL036)).getMessage();
        assertTrue(m.contains("carries the PyTorch JNI for cpu, cu128 only"), m);
        Files.writeString(root.resolve("lib").resolve("0.36.0-" + System.mapLibraryName("djl_torch")), "a JNI built for it");
        assertEquals("cu126", LibtorchFolder.inspect(root, "Settings", DJL036).flavor(), "a folder with its own JNI library needs none from the jar");
    }

    @Test
    void aCudaFolderWithoutItsCudaLibraryIsIncomplete() throws IOException {
        Path root = tmp.resolve("libtorch");
        lib(root.resolve("lib"));
        Files.writeString(root.resolve("build-version"), "2.7.1+cu128");
        String m = assertThrows(LibtorchException.class, () -> LibtorchFolder.inspect(root, "Settings", DJL036)).getMessage();
        assertTrue(m.contains("has no " + System.mapLibraryName("torch_cuda")), m);
    }

    @Test
    void thisBuildsExpectationComesFromItsJniJar() {
        LibtorchFolder.Expectation e = LibtorchFolder.Expectation.ofThisBuild();
        assertTrue(e.jniVersion() != null && e.jniVersion().startsWith(e.version() + "-"), e.toString());
        assertTrue(e.flavors().contains("cpu"), e.toString());
    }

    @Test
    void cudaFlavourReachesDjlOnlyWithTheDriverLibrary() {
        assertEquals("cu124", LibtorchFolder.djlFlavor("cu124", true));
        assertEquals("cpu", LibtorchFolder.djlFlavor("cu124", false));
        assertEquals("cpu", LibtorchFolder.djlFlavor("cpu", true));
    }
}
