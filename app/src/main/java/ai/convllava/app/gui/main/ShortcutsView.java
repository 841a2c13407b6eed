package ai.convllava.app.gui.main;

import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ScrollPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import javafx.stage.Modality;
import javafx.stage.Stage;
import javafx.stage.Window;

import java.util.ArrayList;
import java.util.List;

/**
 * Help > Keyboard shortcuts: every menu item's shortcut, read from the menus themselves so the list
 * cannot fall behind them, then the keys of the question box, which are not menu items.
 */
final class ShortcutsView {
    /** One line of the list: the keys as the menus show them, and what they do. */
    record Row(String keys, String action) {
    }

    /** The question box's own keys. */
    static final List<Row> QUESTION_BOX = List.of(
            new Row("Enter", "Send the question"),
            new Row("Shift+Enter", "Start a new line in the question"),
            new Row("Tab", "Move to the next control (Shift+Tab: the previous one)"));

    private ShortcutsView() {
    }

    /** The menu items' shortcuts ("File > Open image"), in menu order, then {@link #QUESTION_BOX}. */
    static List<Row> rows(List<MenuItem> items) {
        List<Row> rows = new ArrayList<>();
        for (MenuItem i : items) {
            if (i.getAccelerator() != null) {
                String menu = i.getParentMenu() == null ? "" : plain(i.getParentMenu().getText()) + " > ";
                rows.add(new Row(i.getAccelerator().getDisplayText(), menu + plain(i.getText())));
            }
        }
        rows.addAll(QUESTION_BOX);
        return rows;
    }

    /** A menu text without its mnemonic marker and the ellipsis of an item that opens a window. */
    private static String plain(String menuText) {
        return menuText.replace("_", "").replace("\u2026", "").strip();
    }

    /** Shows the list in a window of its own (not modal: it can stay open beside the main window); Esc or Close closes it. */
    static Stage show(Window owner, List<MenuItem> items) {
        GridPane grid = new GridPane();
        grid.getStyleClass().add("shortcut-list");
        grid.setHgap(16);
        grid.setVgap(4);
        int r = 0;
        for (Row row : rows(items)) {
            Label keys = new Label(row.keys());
            keys.getStyleClass().add("shortcut-keys");
            keys.setMinWidth(Label.USE_PREF_SIZE);
            Label action = new Label(row.action());
            action.setWrapText(true);
            grid.addRow(r++, keys, action);
        }
        ScrollPane scroll = new ScrollPane(grid);
        scroll.setFitToWidth(true);
        scroll.setAccessibleText("Keyboard shortcuts");
        Stage stage = new Stage();
        Button close = new Button("Close");
        close.setCancelButton(true);
        close.setDefaultButton(true);
        close.setOnAction(e -> stage.close());
        HBox buttons = new HBox(close);
        buttons.setAlignment(Pos.CENTER_RIGHT);
        VBox root = new VBox(10, scroll, buttons);
        root.getStyleClass().add("shortcuts-window");
        root.setPadding(new Insets(12));
        Scene scene = new Scene(root);
        if (owner != null) {
            stage.initOwner(owner);
            scene.getStylesheets().setAll(owner.getScene().getStylesheets());
        }
        stage.initModality(Modality.NONE);
        stage.setTitle("Keyboard shortcuts");
        stage.setScene(scene);
        stage.show();
        close.requestFocus();
        return stage;
    }
}
