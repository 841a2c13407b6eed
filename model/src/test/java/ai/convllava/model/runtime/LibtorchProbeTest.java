package ai.convllava.model.runtime;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.LibUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Real child JVMs loading real folders: a good copy of this build's libtorch, a broken one, another version's. */
class LibtorchProbeTest {
    static final Duration TIMEOUT = Duration.ofSeconds(120);

    @TempDir
    Path tmp;

    /** The libtorch this JVM loaded, as a separate folder (links to its files) with a build-version file. */
    Path copyOfTheLoadedLibtorch() throws IOException {
        Engine e = Engine.getEngine("PyTorch");
        Path loaded = Path.of(LibUtils.getLibtorchPath());
        Path copy = Files.createDirectories(tmp.resolve("libtorch").resolve("lib"));
        try (Stream<Path> files = Files.list(loaded)) {
            for (Path f : files.toList()) {
                Files.createSymbolicLink(copy.resolve(f.getFileName()), f.toAbsolutePath());
            }
        }
        Files.writeString(copy.getParent().resolve("build-version"), e.getVersion() + "+cpu\n");
        return copy;
    }

    @Test
    void aGoodFolderLoadsInTheChildAndSaysWhatItFound() throws IOException {
        LibtorchFolder f = LibtorchFolder.inspect(copyOfTheLoadedLibtorch(), "test", LibtorchFolder.Expectation.ofThisBuild());
        LibtorchProbe.Result r = LibtorchProbe.run(f, TIMEOUT);
        assertTrue(r.ok(), r.toString());
        assertEquals(Engine.getEngine("PyTorch").getVersion(), r.version());
        assertEquals(LibtorchSetup.torchGpuCount(), r.gpus());
        assertEquals(f.libDir().toString(), r.libDir(), "the child loaded the folder it was given, not the bundled one");
    }

    @Test
    void aBrokenFolderFailsInTheChildWithItsErrorAndThisJvmGoesOn() throws IOException {
        Path lib = Files.createDirectories(tmp.resolve("broken").resolve("lib"));
        for (String name : new String[]{"torch", "c10", "torch_cpu"}) {
            Files.write(lib.resolve(System.mapLibraryName(name)), new byte[]{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0}); // a truncated download
        }
        Files.writeString(lib.getParent().resolve("build-version"), LibtorchFolder.Expectation.ofThisBuild().version() + "+cpu");
        LibtorchFolder f = LibtorchFolder.inspect(lib, "test", LibtorchFolder.Expectation.ofThisBuild());
        LibtorchProbe.Result r = LibtorchProbe.run(f, TIMEOUT);
        assertFalse(r.ok());
        assertTrue(r.message().startsWith("loading it failed (exit code 3)") || r.message().startsWith("loading it crashed"), r.message());
        assertTrue(r.message().length() > 40, "the child's own error is passed on: " + r.message());
    }

    @Test
    void anotherPyTorchVersionCannotTakeThisProcessDown() {
        Path debian = Path.of("/usr/lib/python3/dist-packages/torch/lib");
        assumeTrue(Files.isRegularFile(debian.resolve(System.mapLibraryName("torch"))),
                "Debian's python3-torch is not installed: no libtorch of another version to load");
        String refusal = assertThrowsMessage(debian);
        assertTrue(refusal.contains("works only with libtorch " + LibtorchFolder.Expectation.ofThisBuild().version()), refusal);
        // past the version check (as if it lied about its version): the child fails or crashes, this JVM does not
        LibtorchProbe.Result r = LibtorchProbe.run(new LibtorchFolder(debian, LibtorchFolder.Expectation.ofThisBuild().version(), "cpu", "test"), TIMEOUT);
        assertFalse(r.ok(), r.toString());
    }

    private static String assertThrowsMessage(Path dir) {
        try {
            LibtorchFolder.inspect(dir, "test", LibtorchFolder.Expectation.ofThisBuild());
        } catch (LibtorchException e) {
            return e.getMessage();
        }
        throw new AssertionError(dir + " was accepted");
    }
}
