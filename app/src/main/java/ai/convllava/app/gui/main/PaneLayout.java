package ai.convllava.app.gui.main;

import ai.convllava.app.gui.settings.AppSettings;
import javafx.beans.property.DoubleProperty;
import javafx.geometry.Orientation;
import javafx.scene.Node;
import javafx.scene.control.SplitPane;
import javafx.scene.input.MouseEvent;
import javafx.scene.layout.Region;

/**
 * How the main window's panes share it: the sidebar beside the work area, and in the work area the
 * preview beside the chat, or the chat below the preview when the window is too narrow for both side by
 * side.
 *
 * <p>The divider positions the user chose by dragging are kept in the settings and put back whenever the
 * window changes size. The positions a split pane takes on its own while the window is too small for its
 * panes' minimum widths are not saved, so growing the window back gives the user's layout again.
 */
final class PaneLayout {
    /**
     * Below this width of the window's split pane the chat goes below the preview: side by side, the
     * sidebar, the preview's toolbar and the chat's command row would not all fit at their full width.
     */
    static final double STACK_BELOW = 1200;

    private final SplitPane split;
    private final SplitPane work;
    private final AppSettings settings;
    private SplitPane dragging;

    private PaneLayout(SplitPane split, SplitPane work, AppSettings settings) {
        this.split = split;
        this.work = work;
        this.settings = settings;
    }

    /**
     * Lays out {@code split} (sidebar, work area) and {@code work} (preview, chat) from the settings
     * from now on; {@code chatPane}'s command buttons keep their whole labels (the chat pane's minimum
     * width is what they need).
     */
    static void attach(SplitPane split, SplitPane work, Node chatPane, AppSettings settings) {
        PaneLayout l = new PaneLayout(split, work, settings);
        for (Node b : chatPane.lookupAll(".composer .button")) {
            ((Region) b).setMinWidth(Region.USE_PREF_SIZE);
        }
        split.widthProperty().addListener((o, a, w) -> l.adapt());
        split.heightProperty().addListener((o, a, h) -> l.restore());
        for (SplitPane p : new SplitPane[] {split, work}) {
            p.addEventFilter(MouseEvent.MOUSE_PRESSED, e -> l.pressed(p, e));
            p.addEventFilter(MouseEvent.MOUSE_RELEASED, e -> l.released(p));
        }
        l.adapt();
    }

    /** Stacks or unstacks the work area for the window's width, then puts the dividers where the user had them. */
    private void adapt() {
        Orientation o = split.getWidth() > 0 && split.getWidth() < STACK_BELOW ? Orientation.VERTICAL : Orientation.HORIZONTAL;
        if (work.getOrientation() != o) {
            work.setOrientation(o);
        }
        restore();
    }

    private void restore() {
        split.setDividerPositions(settings.sidebarDividerProperty().get());
        work.setDividerPositions(workDivider().get());
    }

    private DoubleProperty workDivider() {
        return work.getOrientation() == Orientation.HORIZONTAL ? settings.previewDividerProperty() : settings.stackedDividerProperty();
    }

    /** A press on one of this split pane's own dividers starts a drag whose end is the user's choice. */
    private void pressed(SplitPane p, MouseEvent e) {
        for (Node n = e.getTarget() instanceof Node t ? t : null; n != null && n != p; n = n.getParent()) {
            if (n.getStyleClass().contains("split-pane-divider") && n.getParent() == p) {
                dragging = p;
                return;
            }
        }
    }

    private void released(SplitPane p) {
        if (dragging != p) {
            return;
        }
        dragging = null;
        double at = p.getDividers().get(0).getPosition();
        if (p == split) {
            settings.sidebarDividerProperty().set(AppSettings.SIDEBAR_DIVIDER.clamp(at));
        } else if (p.getOrientation() == Orientation.HORIZONTAL) {
            settings.previewDividerProperty().set(AppSettings.PREVIEW_DIVIDER.clamp(at));
        } else {
            settings.stackedDividerProperty().set(AppSettings.STACKED_DIVIDER.clamp(at));
        }
    }
}
