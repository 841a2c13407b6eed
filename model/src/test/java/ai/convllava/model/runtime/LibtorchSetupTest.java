package ai.convllava.model.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The order of the candidates, the fallback past a refused one, and when the environment variable must go. */
class LibtorchSetupTest {
    @TempDir
    Path tmp;

    Path folder(String name, String buildVersion) throws IOException {
        Path lib = LibtorchFolderTest.lib(tmp.resolve(name).resolve("lib"), System.mapLibraryName("torch_cuda"));
        Files.writeString(lib.getParent().resolve("build-version"), buildVersion);
        return lib;
    }

    final List<Path> probed = new ArrayList<>();

    LibtorchSetup.Prober loads(boolean ok) {
        return f -> {
            probed.add(f.libDir());
            return ok ? new LibtorchProbe.Result(true, f.version(), 0, f.libDir().toString(), null)
                    : LibtorchProbe.Result.failed("loading it crashed the test process (signal 11): C  [libtorch_cpu.so+0x1234]");
        };
    }

    @Test
    void nothingNamedMeansTheBundledLibtorch() {
        LibtorchSetup.Status s = LibtorchSetup.choose(null, null, null, null, LibtorchFolderTest.DJL036, loads(true));
        assertNull(s.folder());
        assertNull(s.refused());
        assertFalse(s.dropEnv());
        assertEquals("the libtorch bundled in the app's jars", s.describe());
    }

    @Test
    void theSettingsFolderComesFirstAndIsProbed() throws IOException {
        Path settings = folder("a", "2.7.1+cu128");
        Path env = folder("b", "2.7.1+cpu");
        LibtorchSetup.Status s = LibtorchSetup.choose(settings, env.toString(), null, null, LibtorchFolderTest.DJL036, loads(true));
        assertEquals(settings.toAbsolutePath(), s.folder().libDir());
        assertEquals(List.of(settings.toAbsolutePath()), probed);
        assertTrue(s.dropEnv(), "PYTORCH_LIBRARY_PATH names another folder and DJL reads it before the properties");
    }

    @Test
    void aFolderThatCrashesTheProbeIsRefusedAndTheNextOneUsed() throws IOException {
        Path settings = folder("a", "2.7.1+cu128");
        Path bundled = folder("gpu-package", "2.7.1+cu128");
        LibtorchSetup.Status s = LibtorchSetup.choose(settings, null, bundled.toString(), null, LibtorchFolderTest.DJL036, loads(false));
        assertEquals(bundled.toAbsolutePath(), s.folder().libDir());
        assertEquals(List.of(settings.toAbsolutePath()), probed, "the GPU package's own folder is not probed");
        assertTrue(s.refused().contains("Settings > Engine > libtorch folder: " + settings.toAbsolutePath() + " (libtorch 2.7.1 cu128): loading it crashed"),
                s.refused());
        assertFalse(s.dropEnv());
    }

    @Test
    void aRefusedEnvironmentVariableMustBeDropped() throws IOException {
        Path old = folder("old", "1.13.1+cu117");
        LibtorchSetup.Status s = LibtorchSetup.choose(null, old.toString(), null, null, LibtorchFolderTest.DJL036, loads(true));
        assertNull(s.folder());
        assertTrue(s.dropEnv());
        assertTrue(s.refused().startsWith("PYTORCH_LIBRARY_PATH: " + old.toAbsolutePath() + " is libtorch 1.13.1+cu117"), s.refused());
        assertTrue(probed.isEmpty(), "refused before loading anything");
    }

    @Test
    void theRestartedProcessReportsTheRefusal() {
        LibtorchSetup.Status s = LibtorchSetup.choose(null, null, null, "PYTORCH_LIBRARY_PATH: /x is libtorch 1.13.1", LibtorchFolderTest.DJL036, loads(true));
        assertEquals("the libtorch bundled in the app's jars; not used: PYTORCH_LIBRARY_PATH: /x is libtorch 1.13.1", s.describe());
        assertFalse(s.dropEnv());
    }
}
