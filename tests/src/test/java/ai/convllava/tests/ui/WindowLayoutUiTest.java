package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.settings.AppSettings;
import javafx.geometry.Bounds;
import javafx.geometry.Rectangle2D;
import javafx.scene.Node;
import javafx.scene.Parent;
import javafx.scene.control.Labeled;
import javafx.stage.Screen;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The main window at the sizes people use (1024x640, 1366x768, 1920x1080): no pane narrower than its
 * content needs, the key controls inside the window and not cut off, and a window shrunk to its minimum
 * then grown back laid out as before; and the first start's size comes from the screen.
 */
class WindowLayoutUiTest extends AppUiTest {
    private void resize(double w, double h) {
        run(() -> {
            app.stage().setWidth(w);
            app.stage().setHeight(h);
        });
        UiSupport.await("the window to be " + w + "x" + h, 10, () -> {
            Parent root = app.scene().getRoot();
            root.applyCss();
            root.layout();
            return app.scene().getWidth() == w - decorationWidth();
        });
        // a split pane may move its dividers in the pass after a resize: let the pulses that follow run
        org.testfx.util.WaitForAsyncUtils.waitForFxEvents();
        run(() -> {
            Parent root = app.scene().getRoot();
            for (int i = 0; i < 3; i++) {
                root.applyCss();
                root.layout();
            }
        });
    }

    private double decorationWidth() {
        return app.stage().getWidth() - app.scene().getWidth();
    }

    /** What is wrong with the layout now (empty when it is sane). */
    private List<String> problems() {
        return fx(() -> {
            List<String> p = new ArrayList<>();
            Parent root = app.scene().getRoot();
            Bounds window = new javafx.geometry.BoundingBox(0, 0, app.scene().getWidth(), app.scene().getHeight());
            for (String pane : List.of(".sidebar", ".preview-pane", ".chat-pane")) {
                Node n = root.lookup(pane);
                if (n == null || !n.isVisible() || n.getScene() == null) {
                    p.add(pane + " is not shown");
                    continue;
                }
                Parent r = (Parent) n;
                double min = r.minWidth(-1);
                Bounds b = n.localToScene(n.getLayoutBounds());
                if (b.getWidth() + 0.5 < min) {
                    p.add(pane + " is " + Math.round(b.getWidth()) + " px wide, narrower than its minimum " + Math.round(min));
                }
                if (b.getHeight() + 0.5 < r.minHeight(-1)) {
                    p.add(pane + " is " + Math.round(b.getHeight()) + " px high, lower than its minimum " + Math.round(r.minHeight(-1)));
                }
                if (!inside(b, window)) {
                    p.add(pane + " " + b + " reaches outside the window " + window);
                }
            }
            check(p, window, "the question box", root.lookup(".question"), 200, 48);
            check(p, window, "the preview", root.lookup(".preview-viewport"), 200, 120);
            check(p, window, "the conversation list", root.lookup(".conversation-list"), 120, 100);
            for (String holder : List.of(".composer", ".preview-pane .pane-toolbar", ".sidebar")) {
                for (Node b : root.lookup(holder).lookupAll(".button")) {
                    if (b.isVisible() && b instanceof Labeled l && b.getParent().isVisible()) {
                        check(p, window, "button " + l.getText(), b, 1, 1);
                    }
                }
            }
            return p;
        });
    }

    private static boolean inside(Bounds b, Bounds window) {
        return b.getMinX() >= window.getMinX() - 0.5 && b.getMinY() >= window.getMinY() - 0.5
                && b.getMaxX() <= window.getMaxX() + 0.5 && b.getMaxY() <= window.getMaxY() + 0.5;
    }

    /** Shown, inside the window, at least this big, and (a button) as wide as its whole label. */
    private static void check(List<String> p, Bounds window, String what, Node n, double minW, double minH) {
        if (n == null || !n.isVisible()) {
            p.add(what + " is not shown");
            return;
        }
        Bounds b = n.localToScene(n.getLayoutBounds());
        if (!inside(b, window)) {
            p.add(what + " " + b + " reaches outside the window " + window);
        }
        if (b.getWidth() < minW || b.getHeight() < minH) {
            p.add(what + " is " + Math.round(b.getWidth()) + "x" + Math.round(b.getHeight()) + ", smaller than " + minW + "x" + minH);
        }
        if (n instanceof Labeled l && b.getWidth() + 0.5 < l.prefWidth(-1)) {
            p.add(what + " is cut off: " + Math.round(b.getWidth()) + " px of the " + Math.round(l.prefWidth(-1)) + " its label needs");
        }
        for (Parent a = n.getParent(); a != null; a = a.getParent()) {
            if (a.getClip() == null && !(a instanceof javafx.scene.control.ScrollPane)) {
                continue;
            }
            Bounds ab = a.localToScene(a.getLayoutBounds());
            if (!inside(b, ab)) {
                p.add(what + " is clipped by " + a.getStyleClass());
            }
        }
    }

    private double[] dividers() {
        return fx(() -> {
            List<Double> d = new ArrayList<>();
            for (Node s : app.scene().getRoot().lookupAll(".split-pane")) {
                for (var div : ((javafx.scene.control.SplitPane) s).getDividers()) {
                    d.add(div.getPosition());
                }
            }
            return d.stream().mapToDouble(Double::doubleValue).toArray();
        });
    }

    @Test
    void eachCommonSizeIsLaidOutAndShrinkingThenGrowingBackRestoresIt() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, null, 16);
        app = ui.open(paths);
        double[][] sizes = {{1920, 1080}, {1366, 768}, {1024, 640}};
        for (double[] s : sizes) {
            resize(s[0], s[1]);
            List<String> p = problems();
            assertTrue(p.isEmpty(), "at " + (int) s[0] + "x" + (int) s[1] + ": " + p);
        }
        resize(1920, 1080);
        double[] before = dividers();
        resize(fx(() -> app.stage().getMinWidth()), fx(() -> app.stage().getMinHeight()));
        assertTrue(problems().isEmpty(), "at the smallest size the window allows: " + problems());
        resize(1920, 1080);
        assertTrue(problems().isEmpty(), "grown back to 1920x1080: " + problems());
        assertEquals(java.util.Arrays.toString(before), java.util.Arrays.toString(dividers()), "the dividers are where they were");
        assertEquals(AppSettings.SIDEBAR_DIVIDER.initial(), fx(() -> app.settings().sidebarDividerProperty().get()),
                "what the split panes did at the small size was not saved");
        assertEquals(AppSettings.PREVIEW_DIVIDER.initial(), fx(() -> app.settings().previewDividerProperty().get()));
    }

    @Test
    void aDraggedDividerIsSavedAndComesBackAfterTheWindowWasTooSmall() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, null, 16);
        app = ui.open(paths);
        resize(1600, 900);
        Node divider = fx(() -> app.view().split().lookupAll(".split-pane-divider").stream()
                .filter(d -> d.getParent() == app.view().split()).findFirst().orElseThrow());
        ui.robot().drag(divider).dropBy(160, 0);
        double dragged = fx(() -> app.view().split().getDividers().get(0).getPosition());
        assertTrue(dragged > AppSettings.SIDEBAR_DIVIDER.initial() + 0.05, "the divider moved: " + dragged);
        assertEquals(dragged, fx(() -> app.settings().sidebarDividerProperty().get()), 1e-9, "the dragged position is saved");
        resize(fx(() -> app.stage().getMinWidth()), fx(() -> app.stage().getMinHeight()));
        resize(1600, 900);
        assertEquals(dragged, fx(() -> app.view().split().getDividers().get(0).getPosition()), 1e-9, "and restored");
    }

    @Test
    void theFirstStartTakesMostOfTheScreen() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        Files.createDirectories(paths.configDir());
        Files.writeString(paths.settingsFile(), "{\"modelDir\": \"\"}");
        app = ui.open(paths);
        Rectangle2D screen = fx(() -> Screen.getPrimary().getVisualBounds());
        assertEquals(Math.round(screen.getWidth() * 0.8), Math.round(fx(() -> app.stage().getWidth())), "width: 80% of " + screen);
        assertEquals(Math.round(screen.getHeight() * 0.8), Math.round(fx(() -> app.stage().getHeight())), "height: 80% of " + screen);
        assertEquals(Math.round(screen.getMinX() + screen.getWidth() * 0.1), Math.round(fx(() -> app.stage().getX())), "centred");
    }

    @Test
    void aSavedWindowLargerThanTheScreenOrOffItIsBroughtOntoIt() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        Files.createDirectories(paths.configDir());
        // saved on a bigger monitor, to the right of this one
        Files.writeString(paths.settingsFile(), "{\"modelDir\": \"\", \"windowWidth\": 4000, \"windowHeight\": 3000,"
                + " \"windowX\": 5000, \"windowY\": 100}");
        app = ui.open(paths);
        Rectangle2D screen = fx(() -> Screen.getPrimary().getVisualBounds());
        assertEquals(screen.getWidth(), fx(() -> app.stage().getWidth()), 0.5, "no wider than " + screen);
        assertEquals(screen.getHeight(), fx(() -> app.stage().getHeight()), 0.5, "no higher than " + screen);
        assertTrue(fx(() -> screen.contains(app.stage().getX(), app.stage().getY())), "on the screen: " + fx(() -> app.stage().getX()));
    }
}
