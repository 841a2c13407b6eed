package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.DesktopApp;
import ai.convllava.model.api.VisionChatSession;
import javafx.application.Platform;
import javafx.stage.Stage;
import org.testfx.util.WaitForAsyncUtils;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/** Starting the real app (LocalVisionChatSession) headless, and reading its state on the FX thread. */
final class UiSupport {
    static final String CLI_ANSWER = "reviewed乎uffixconvert tea época cryst suspectales runner teaiker᥀推store slä";
    static final String QUESTION = "What is the tallest bar in this chart?";

    private UiSupport() {
    }

    static Path fixtures() {
        String f = System.getProperty("convllava.fixtures");
        if (f == null) {
            throw new IllegalStateException("-Dconvllava.fixtures is not set");
        }
        return Path.of(f);
    }

    static Path tinyModel() {
        return fixtures().resolve("tiny/tiny-convllava");
    }

    static Path wide() {
        return fixtures().resolve("tiny/images/wide.png");
    }

    /** Settings before the first start: the tiny model (or none) and short answers. */
    static void writeSettings(AppPaths paths, Path model, int maxNewTokens) throws Exception {
        Files.createDirectories(paths.configDir());
        String json = "{\"modelDir\": \"" + (model == null ? "" : model.toAbsolutePath().toString().replace("\\", "\\\\")) + "\","
                + " \"maxNewTokens\": " + maxNewTokens + ", \"windowWidth\": 1280, \"windowHeight\": 800, \"windowX\": 0, \"windowY\": 0}";
        Files.writeString(paths.settingsFile(), json);
    }

    /** Use {@link UiFixture#open}, which also closes it after the test. */
    static DesktopApp open(AppPaths paths) throws Exception {
        return open(paths, VisionChatSession.local());
    }

    static DesktopApp open(AppPaths paths, VisionChatSession session) throws Exception {
        return WaitForAsyncUtils.asyncFx(() -> DesktopApp.open(new Stage(), session, paths, null)).get(30, TimeUnit.SECONDS);
    }

    static void close(DesktopApp app) throws Exception {
        WaitForAsyncUtils.asyncFx(() -> {
            app.close();
            app.stage().close();
        }).get(60, TimeUnit.SECONDS);
    }

    /** A value read on the FX thread. */
    /** Writes what the app's window shows to a PNG (screenshots for the docs; works headless under Monocle). */
    static void snapshot(DesktopApp app, Path file) throws Exception {
        javafx.scene.image.WritableImage img = fx(() -> {
            app.scene().getRoot().applyCss();
            app.scene().getRoot().layout();
            return app.scene().snapshot(null);
        });
        int w = (int) img.getWidth();
        int h = (int) img.getHeight();
        int[] argb = new int[w * h];
        img.getPixelReader().getPixels(0, 0, w, h, javafx.scene.image.PixelFormat.getIntArgbInstance(), argb, 0, w);
        java.awt.image.BufferedImage bi = new java.awt.image.BufferedImage(w, h, java.awt.image.BufferedImage.TYPE_INT_RGB);
        bi.setRGB(0, 0, w, h, argb, 0, w);
        javax.imageio.ImageIO.write(bi, "png", file.toFile());
    }

    static <T> T fx(Callable<T> c) {
        try {
            return WaitForAsyncUtils.asyncFx(c).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("reading on the FX thread failed", e);
        }
    }

    /** Polls a condition (evaluated on the FX thread) until it holds or the time is up. */
    static void await(String what, long seconds, BooleanSupplier condition) {
        try {
            WaitForAsyncUtils.waitFor(seconds, TimeUnit.SECONDS, () -> fx(condition::getAsBoolean));
        } catch (TimeoutException e) {
            throw new AssertionError("timed out after " + seconds + " s waiting for: " + what);
        }
    }

    static void run(Runnable r) {
        try {
            WaitForAsyncUtils.asyncFx(r).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("FX action failed", e);
        }
    }

    static boolean onFxThread() {
        return Platform.isFxApplicationThread();
    }

    /** A message's text as shown: a label's, an answer's Markdown without its syntax, or a TextFlow's Texts joined. */
    static String shownText(javafx.scene.Node n) {
        ai.convllava.app.gui.chat.MarkdownText md = ai.convllava.app.gui.chat.MarkdownText.of(n);
        if (md != null) {
            return md.shownText();
        }
        if (n instanceof javafx.scene.control.Labeled l) {
            return l.getText();
        }
        if (n instanceof javafx.scene.text.TextFlow f) {
            StringBuilder b = new StringBuilder();
            for (javafx.scene.Node c : f.getChildren()) {
                b.append(((javafx.scene.text.Text) c).getText());
            }
            return b.toString();
        }
        throw new AssertionError("not a message text: " + n);
    }
}
