package ai.convllava.app.cli;

import ai.convllava.app.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The libtorch folder a user names, end to end through the real launcher: a folder of another PyTorch
 * version in PYTORCH_LIBRARY_PATH, or a broken one in Settings, is refused with its reason and the
 * self-test passes on the bundled libtorch instead of the JVM aborting.
 */
class LibtorchChoiceCliTest {
    @TempDir
    Path tmp;

    record Run(int code, String out, String err) {
    }

    /** A libtorch folder that says it is {@code buildVersion}, whose libraries are not libraries. */
    Path fakeLibtorch(String name, String buildVersion) throws IOException {
        Path lib = Files.createDirectories(tmp.resolve(name).resolve("lib"));
        for (String l : new String[]{"torch", "c10", "torch_cpu"}) {
            Files.write(lib.resolve(System.mapLibraryName(l)), new byte[]{0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        }
        Files.writeString(lib.getParent().resolve("build-version"), buildVersion);
        return lib;
    }

    /** A jar that is only a manifest naming this test's class path and Main, so that the launcher can restart itself as for java -jar. */
    Path launcherJar() throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, Main.class.getName());
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, List.of(System.getProperty("java.class.path").split(File.pathSeparator)).stream()
                .map(e -> Path.of(e).toUri().toString()).collect(Collectors.joining(" ")));
        Path jar = tmp.resolve("launcher.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, m)) {
            j.flush();
        }
        return jar;
    }

    Run run(List<String> launch, Map<String, String> env) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Dconvllava.config.dir=" + tmp.resolve("config"));
        cmd.add("-Dconvllava.data.dir=" + tmp.resolve("data"));
        cmd.addAll(launch);
        cmd.addAll(List.of("self-test", "--device", "cpu"));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(Path.of("").toAbsolutePath().toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("PYTORCH_") || k.startsWith("CONVLLAVA_"));
        pb.environment().putAll(env);
        pb.redirectOutput(tmp.resolve("out.txt").toFile()).redirectError(tmp.resolve("err.txt").toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "the self-test did not finish");
        return new Run(p.exitValue(), Files.readString(tmp.resolve("out.txt"), StandardCharsets.UTF_8),
                Files.readString(tmp.resolve("err.txt"), StandardCharsets.UTF_8));
    }

    @Test
    void anotherVersionInPytorchLibraryPathIsDroppedByARestart() throws Exception {
        Path old = fakeLibtorch("old", "1.13.1+cpu");
        Run r = run(List.of("-jar", launcherJar().toString()), Map.of("PYTORCH_LIBRARY_PATH", old.toString()));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("self-test OK"), r.out());
        assertTrue(r.out().contains("libtorch:   the libtorch bundled in the app's jars; not used: PYTORCH_LIBRARY_PATH: " + old.toAbsolutePath()
                + " is libtorch 1.13.1"), r.out());
        assertTrue(r.err().contains("note: PYTORCH_LIBRARY_PATH: "), r.err());
        assertEquals(1, r.err().split("note: PYTORCH_LIBRARY_PATH", -1).length - 1, "said once, by the process that carries on: " + r.err());
    }

    @Test
    void withoutARestartARefusedPytorchLibraryPathStopsWithWhatToDo() throws Exception {
        Path old = fakeLibtorch("old", "1.13.1+cpu");
        Run r = run(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()), Map.of("PYTORCH_LIBRARY_PATH", old.toString()));
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("unset PYTORCH_LIBRARY_PATH"), r.err());
    }

    @Test
    void aBrokenSettingsFolderIsTriedInAChildAndTheBundledLibtorchRunsTheSelfTest() throws Exception {
        String version = bundledVersion();
        Path broken = fakeLibtorch("broken", version + "+cpu");
        Files.createDirectories(tmp.resolve("config"));
        Files.writeString(tmp.resolve("config").resolve("settings.json"),
                "{\"libtorchFolder\": \"" + broken.toString().replace("\\", "\\\\") + "\"}");
        Run r = run(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()), Map.of());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("self-test OK"), r.out());
        assertTrue(r.out().contains("not used: Settings > Engine > libtorch folder: " + broken.toAbsolutePath() + " (libtorch " + version
                + " cpu): loading it failed"), r.out());
    }

    /** The libtorch version this build's JNI needs, as the jar says. */
    static String bundledVersion() throws IOException {
        try (var in = LibtorchChoiceCliTest.class.getClassLoader().getResourceAsStream("jnilib/pytorch.properties")) {
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("jni_version").replaceFirst("-.*", "");
        }
    }
}
