package ai.convllava.app.gui;

import ai.convllava.app.Main;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DesktopLauncherTest {
    @Test
    void withoutDisplayOrWaylandThereIsNoDisplayOnLinux() {
        assertEquals(DesktopLauncher.NO_DISPLAY, DesktopLauncher.noDisplay(Map.of(), "Linux"));
        assertEquals(DesktopLauncher.NO_DISPLAY, DesktopLauncher.noDisplay(Map.of("DISPLAY", " "), "Linux"));
        assertEquals(DesktopLauncher.NO_DISPLAY, DesktopLauncher.noDisplay(Map.of(), "FreeBSD"));
        assertNull(DesktopLauncher.noDisplay(Map.of("DISPLAY", ":0"), "Linux"));
        assertNull(DesktopLauncher.noDisplay(Map.of("WAYLAND_DISPLAY", "wayland-0"), "Linux"));
        assertNull(DesktopLauncher.noDisplay(Map.of(), "Windows 11"));
        assertNull(DesktopLauncher.noDisplay(Map.of(), "Mac OS X"));
    }

    @Test
    void javafxFailuresBecomeOneLineWithAWayForward() {
        assertEquals("no display: cannot connect to DISPLAY=:42; use the `ask` command line, or run under a desktop session",
                DesktopLauncher.windowFailure("Unable to open DISPLAY", ":42"));
        String gtk = DesktopLauncher.windowFailure("Unable to load glass GTK library.", ":0");
        assertTrue(gtk.contains("GTK 3 library is missing") && gtk.contains("sudo apt install libgtk-3-0"), gtk);
        assertTrue(DesktopLauncher.windowFailure(null, null).contains("convllava ask --help"));
    }

    /** The real entry point in a JVM of its own, with no display in its environment: one line on stderr, exit code 1. */
    @Test
    void theAppWithoutADisplayPrintsOneLineAndExitsWithOne() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        pb.environment().remove("DISPLAY");
        pb.environment().remove("WAYLAND_DISPLAY");
        Process p = pb.start();
        p.getOutputStream().close();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the app did not exit");
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (System.getProperty("os.name").toLowerCase().contains("linux")) {
            assertEquals(1, p.exitValue());
            assertEquals(DesktopLauncher.NO_DISPLAY + System.lineSeparator(), err);
            assertEquals("", out);
        }
    }
}
