package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.DesktopApp;
import javafx.scene.Node;
import javafx.scene.Parent;
import javafx.scene.control.CheckMenuItem;
import javafx.scene.control.Control;
import javafx.scene.control.Label;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ScrollBar;
import javafx.scene.control.TextArea;
import javafx.scene.control.ToggleButton;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyCodeCombination;
import javafx.scene.input.KeyCombination;
import javafx.stage.Stage;
import javafx.stage.Window;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The keyboard: Tab through every control, the menus' shortcuts while typing a question, and the shortcut list. */
@ExtendWith(UiFixture.class)
class KeyboardUiTest {
    @TempDir
    Path tmp;

    private UiFixture ui;
    private FxRobot robot;
    private DesktopApp app;

    @BeforeEach
    void open(UiFixture ui) throws Exception {
        this.ui = ui;
        this.robot = ui.robot();
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, null, 16);
        app = ui.open(paths);
    }

    private TextArea question() {
        return app.view().chatView().questionArea();
    }

    private Node focusOwner() {
        return fx(() -> app.scene().getFocusOwner());
    }

    private static String describe(Node n) {
        return n == null ? "nothing" : n.getClass().getSimpleName() + (n.getAccessibleText() != null ? " '" + n.getAccessibleText() + "'"
                : n instanceof javafx.scene.control.Labeled l ? " '" + l.getText() + "'" : "") + n.getStyleClass();
    }

    /** The controls a keyboard user must be able to reach: shown, enabled, and meant to take the focus. */
    private Set<Node> reachable() {
        return fx(() -> {
            Set<Node> all = new LinkedHashSet<>();
            collect(app.scene().getRoot(), all);
            return all;
        });
    }

    private static void collect(Node n, Set<Node> out) {
        if (!n.isVisible() || n.isDisabled() || n instanceof ScrollBar) {
            return;
        }
        if (n instanceof Control && n.isFocusTraversable()) {
            out.add(n);
        }
        if (n instanceof Parent p) {
            for (Node c : p.getChildrenUnmodifiable()) {
                collect(c, out);
            }
        }
    }

    @Test
    void tabLeavesTheQuestionBoxAndReachesEveryControl() {
        robot.clickOn(".question").write("abc");
        robot.type(KeyCode.TAB);
        assertEquals("abc", fx(() -> question().getText()), "Tab typed nothing into the question");
        assertNotEquals(question(), focusOwner(), "Tab moved the focus on");
        robot.push(KeyCode.SHIFT, KeyCode.TAB);
        assertEquals(question(), focusOwner(), "Shift+Tab came back");

        Set<Node> expected = reachable();
        assertTrue(expected.size() >= 10, "the window's controls: " + expected.stream().map(KeyboardUiTest::describe).toList());
        List<Node> visited = new ArrayList<>();
        for (int i = 0; i < 3 * expected.size(); i++) {
            robot.type(KeyCode.TAB);
            Node f = focusOwner();
            if (f == question()) {
                break;
            }
            visited.add(f);
        }
        assertEquals(question(), focusOwner(), "Tab goes round back to the question: " + visited.stream().map(KeyboardUiTest::describe).toList());
        // a toggle group (pad / native) is one stop, as radio buttons are: Tab reaches its selected
        // button and the arrow keys its others
        List<String> missed = expected.stream().filter(n -> n != question() && !visited.contains(n) && !groupReached(n, visited))
                .map(KeyboardUiTest::describe).toList();
        assertTrue(missed.isEmpty(), "not reached with Tab: " + missed);
        ToggleButton pad = (ToggleButton) visited.stream().filter(n -> n instanceof ToggleButton t && t.getToggleGroup() != null)
                .findFirst().orElseThrow();
        run(pad::requestFocus);
        robot.type(KeyCode.RIGHT);
        Node other = focusOwner();
        assertTrue(other instanceof ToggleButton t && t.getToggleGroup() == pad.getToggleGroup() && t != pad, "Right moves in the group: " + describe(other));
        assertEquals("abc", fx(() -> question().getText()));
        assertFalse(fx(() -> question().getText()).contains("\t"));
    }

    private static boolean groupReached(Node n, List<Node> visited) {
        return n instanceof ToggleButton t && t.getToggleGroup() != null
                && visited.stream().anyMatch(v -> v instanceof ToggleButton o && o.getToggleGroup() == t.getToggleGroup());
    }

    @Test
    void theMenusShortcutsWorkWhileTypingAQuestion() {
        robot.clickOn(".question").write("abc");
        List<CheckMenuItem> checks = fx(() -> app.view().menuItems().stream()
                .filter(i -> i instanceof CheckMenuItem && i.getAccelerator() != null).map(i -> (CheckMenuItem) i).toList());
        assertTrue(checks.size() >= 5, "grid, native, original, heatmap, dark: " + checks);
        for (CheckMenuItem c : checks) {
            boolean was = fx(c::isSelected);
            robot.push(keys((KeyCodeCombination) c.getAccelerator()));
            assertEquals(!was, fx(c::isSelected), c.getText() + " (" + c.getAccelerator().getDisplayText() + ") toggled from the question box");
            assertEquals(question(), focusOwner());
            assertEquals("abc", fx(() -> question().getText()), c.getAccelerator().getDisplayText() + " did not edit the question");
        }
        assertTrue(fx(() -> app.viewModel().heatmap().shownProperty().get()), "Ctrl+H opened the heatmap panel");
        assertTrue(fx(() -> app.settings().themeProperty().get()) == ai.convllava.app.gui.settings.Theme.DARK, "Ctrl+Shift+T: dark theme");

        // a plain item: the shortcut list (F1) opens from the question box too
        robot.type(KeyCode.F1);
        Stage list = shortcutWindow();
        assertTrue(fx(list::isShowing));
        run(list::close);
        // and Ctrl+V still pastes text into the question
        run(() -> {
            javafx.scene.input.ClipboardContent t = new javafx.scene.input.ClipboardContent();
            t.putString("!");
            javafx.scene.input.Clipboard.getSystemClipboard().setContent(t);
        });
        robot.clickOn(".question");
        run(() -> question().end());
        robot.push(KeyCode.CONTROL, KeyCode.V);
        assertEquals("abc!", fx(() -> question().getText()));
    }

    private Stage shortcutWindow() {
        await("the shortcut list", 10, () -> Window.getWindows().stream()
                .anyMatch(w -> w instanceof Stage s && "Keyboard shortcuts".equals(s.getTitle()) && s.isShowing()));
        return ui.track(fx(() -> Window.getWindows().stream().filter(w -> w instanceof Stage s && "Keyboard shortcuts".equals(s.getTitle()))
                .map(w -> (Stage) w).findFirst().orElseThrow()));
    }

    private static KeyCode[] keys(KeyCodeCombination k) {
        List<KeyCode> codes = new ArrayList<>();
        if (k.getShortcut() == KeyCombination.ModifierValue.DOWN || k.getControl() == KeyCombination.ModifierValue.DOWN) {
            codes.add(KeyCode.CONTROL);
        }
        if (k.getShift() == KeyCombination.ModifierValue.DOWN) {
            codes.add(KeyCode.SHIFT);
        }
        if (k.getAlt() == KeyCombination.ModifierValue.DOWN) {
            codes.add(KeyCode.ALT);
        }
        codes.add(k.getCode());
        return codes.toArray(KeyCode[]::new);
    }

    @Test
    void helpListsEveryMenuShortcutAndEscClosesIt() {
        robot.clickOn("Help").clickOn("Keyboard shortcuts");
        Stage list = shortcutWindow();
        List<String> shown = fx(() -> list.getScene().getRoot().lookupAll(".label").stream().map(n -> ((Label) n).getText()).toList());
        List<MenuItem> items = fx(() -> app.view().menuItems().stream().filter(i -> i.getAccelerator() != null).toList());
        assertTrue(items.size() >= 25, "the menus' shortcuts: " + items.size());
        for (MenuItem i : items) {
            String keys = fx(() -> i.getAccelerator().getDisplayText());
            int at = shown.indexOf(keys);
            assertTrue(at >= 0 && at + 1 < shown.size(), keys + " is listed: " + shown);
            String name = i.getText().replace("_", "").replace("\u2026", "").strip();
            assertTrue(shown.get(at + 1).endsWith(name), keys + " says what it does: " + shown.get(at + 1) + " (" + name + ")");
        }
        assertTrue(shown.contains("Ctrl+H") && shown.contains("View > Attention heatmap"), shown.toString());
        assertTrue(shown.contains("Tab") && shown.contains("Shift+Enter"), "the question box's keys: " + shown);
        robot.type(KeyCode.ESCAPE);
        await("Esc to close the list", 10, () -> !list.isShowing());
        assertFalse(fx(list::isShowing));
    }
}
