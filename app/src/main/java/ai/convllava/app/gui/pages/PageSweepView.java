package ai.convllava.app.gui.pages;

import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.ListView;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.TextArea;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyCode;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.stage.Modality;
import javafx.stage.Stage;
import javafx.stage.Window;

/**
 * The Ask-about-every-page window: the question, Ask and Cancel, the progress and what is being written,
 * and the answers per page; choosing one shows its page in the preview and its whole answer below the
 * list. Modal while it exists, because the run owns the model; closing it cancels a run.
 */
public final class PageSweepView {
    private final PageSweepViewModel vm;
    private final Stage stage = new Stage();
    private final TextField question = new TextField();
    private final ListView<PageSweepViewModel.Row> list = new ListView<>();
    private final TextArea answer = new TextArea();

    public PageSweepView(PageSweepViewModel vm, Window owner) {
        this.vm = vm;
        if (owner != null) {
            stage.initOwner(owner);
            stage.initModality(Modality.WINDOW_MODAL);
        }
        stage.setTitle("Ask about every page (" + vm.pageCount() + " pages)");
        question.setPromptText("The question to ask of every page");
        question.setAccessibleText("Question for every page");
        question.setOnKeyPressed(e -> {
            if (e.getCode() == KeyCode.ENTER) {
                vm.start(question.getText());
            }
        });
        Button ask = new Button("Ask");
        ask.setDefaultButton(false);
        ask.setOnAction(e -> vm.start(question.getText()));
        ask.disableProperty().bind(vm.runningProperty());
        Button cancel = new Button("Cancel");
        cancel.setOnAction(e -> vm.cancel());
        cancel.visibleProperty().bind(vm.runningProperty());
        cancel.managedProperty().bind(cancel.visibleProperty());
        question.disableProperty().bind(vm.runningProperty());
        HBox top = new HBox(6, question, ask, cancel);
        HBox.setHgrow(question, Priority.ALWAYS);

        ProgressBar bar = new ProgressBar();
        bar.progressProperty().bind(vm.progressProperty());
        bar.setMaxWidth(Double.MAX_VALUE);
        bar.visibleProperty().bind(vm.runningProperty().or(Bindings.isNotEmpty(vm.rows())));
        Label status = new Label();
        status.textProperty().bind(vm.statusProperty());
        status.setWrapText(true);
        status.setAccessibleText("Progress");

        list.setItems(vm.rows());
        list.setAccessibleText("Answers per page");
        list.setPlaceholder(new Label("The answers appear here, page by page."));
        list.setCellFactory(l -> new ListCell<>() {
            @Override
            protected void updateItem(PageSweepViewModel.Row row, boolean empty) {
                super.updateItem(row, empty);
                setText(empty || row == null ? null : row.summary());
                setTooltip(empty || row == null ? null : new Tooltip(row.error() != null ? row.error() : row.answer()));
            }
        });
        list.getSelectionModel().selectedItemProperty().addListener((o, was, row) -> {
            answer.setText(row == null ? "" : row.error() != null ? "Page " + row.page() + " failed: " + row.error() : row.answer().strip());
            vm.open(row);
        });
        list.disableProperty().bind(vm.runningProperty()); // the run owns the model: no page changes meanwhile
        VBox.setVgrow(list, Priority.ALWAYS);
        answer.setEditable(false);
        answer.setWrapText(true);
        answer.setPrefRowCount(5);
        answer.setAccessibleText("The chosen page's answer");

        VBox root = new VBox(8, top, bar, status, list, answer);
        root.setPadding(new Insets(10));
        Scene scene = new Scene(root, 640, 520);
        if (owner != null && owner.getScene() != null) {
            scene.getStylesheets().setAll(owner.getScene().getStylesheets());
        }
        scene.addEventFilter(javafx.scene.input.KeyEvent.KEY_PRESSED, e -> { // a filter: the list and text area would keep Esc
            if (e.getCode() == KeyCode.ESCAPE) {
                e.consume();
                if (vm.runningProperty().get()) {
                    vm.cancel();
                } else {
                    stage.close();
                }
            }
        });
        stage.setScene(scene);
        stage.setMinWidth(420);
        stage.setMinHeight(320);
        stage.setOnCloseRequest(e -> vm.cancel());
    }

    public void show(String initialQuestion) {
        question.setText(initialQuestion == null ? "" : initialQuestion);
        stage.show();
        question.requestFocus();
    }

    public Stage stage() {
        return stage;
    }
}
