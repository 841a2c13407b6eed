package ai.convllava.app.gui.chat;

import ai.convllava.app.gui.Fxml;
import javafx.beans.binding.Bindings;
import javafx.collections.ListChangeListener;
import javafx.fxml.FXML;
import javafx.scene.Node;
import javafx.scene.Parent;
import javafx.scene.control.Button;
import javafx.scene.control.ContextMenu;
import javafx.scene.control.Hyperlink;
import javafx.scene.control.Label;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.TextArea;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyEvent;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;

/** The conversation pane: messages (answers grow as they stream), stage indicator, question box, commands. */
public final class ChatView {
    @FXML private VBox root;
    @FXML private ScrollPane messagesScroll;
    @FXML private VBox messagesBox;
    @FXML private HBox errorBox;
    @FXML private Label errorLabel;
    @FXML private Button dismissErrorButton;
    @FXML private HBox noticeBox;
    @FXML private Label noticeLabel;
    @FXML private HBox stageBar;
    @FXML private ProgressBar stageProgress;
    @FXML private Label stageLabel;
    @FXML private TextArea questionArea;
    @FXML private Button sendButton;
    @FXML private Button stopButton;
    @FXML private Button regenerateButton;
    @FXML private Button copyButton;
    @FXML private Button clearButton;

    private final ChatViewModel vm;
    private final Label empty = new Label("Ask about the image: \u201cWhat is the tallest bar in this chart?\u201d, "
            + "\u201cWhat is the total on this invoice?\u201d, \u201cSummarise this page.\u201d");
    private boolean stickToBottom = true;
    private java.util.function.Consumer<ChatMessage> onShowHeatmap = m -> { };

    public ChatView(ChatViewModel vm) {
        this.vm = vm;
        Fxml.load("ChatView.fxml", this);
        bind();
    }

    public Parent root() {
        return root;
    }

    /** What the "Heatmap" link under an answer does (the main view opens the heatmap panel on it). */
    public void setOnShowHeatmap(java.util.function.Consumer<ChatMessage> action) {
        onShowHeatmap = action;
    }

    public TextArea questionArea() {
        return questionArea;
    }

    /** The message bubbles (tests). */
    public VBox messagesBox() {
        return messagesBox;
    }

    private void bind() {
        empty.getStyleClass().add("empty-chat");
        empty.setWrapText(true);
        vm.messages().addListener((ListChangeListener<ChatMessage>) c -> rebuild());
        rebuild();
        messagesScroll.vvalueProperty().addListener((o, a, v) -> stickToBottom = v.doubleValue() >= messagesScroll.getVmax() - 0.02);
        messagesBox.heightProperty().addListener((o, a, b) -> {
            if (stickToBottom) {
                messagesScroll.setVvalue(messagesScroll.getVmax());
            }
        });

        errorLabel.textProperty().bind(vm.errorProperty());
        errorBox.visibleProperty().bind(vm.errorProperty().isNotNull());
        errorBox.managedProperty().bind(errorBox.visibleProperty());
        noticeLabel.textProperty().bind(vm.noticeProperty());
        noticeBox.visibleProperty().bind(vm.noticeProperty().isNotNull());
        noticeBox.managedProperty().bind(noticeBox.visibleProperty());
        stageBar.visibleProperty().bind(vm.answeringProperty());
        stageBar.managedProperty().bind(stageBar.visibleProperty());
        stageLabel.textProperty().bind(vm.stageProperty());
        stageProgress.progressProperty().bind(vm.stageProgressProperty());

        questionArea.textProperty().bindBidirectional(vm.inputProperty());
        questionArea.addEventFilter(KeyEvent.KEY_PRESSED, e -> {
            if (e.getCode() == KeyCode.ENTER) {
                e.consume();
                if (e.isShiftDown()) {
                    questionArea.replaceSelection("\n");
                } else {
                    vm.send();
                }
            }
        });
        sendButton.disableProperty().bind(vm.canSendProperty().not());
        stopButton.disableProperty().bind(vm.canStopProperty().not());
        regenerateButton.disableProperty().bind(vm.canRegenerateProperty().not());
        copyButton.disableProperty().bind(Bindings.isEmpty(vm.messages()));
        clearButton.disableProperty().bind(vm.canClearProperty().not());
    }

    private void rebuild() {
        messagesBox.getChildren().clear();
        if (vm.messages().isEmpty()) {
            messagesBox.getChildren().add(empty);
            return;
        }
        for (ChatMessage m : vm.messages()) {
            messagesBox.getChildren().add(bubble(m));
        }
    }

    private Node bubble(ChatMessage m) {
        boolean user = m.role() == ChatMessage.Role.USER;
        Label role = new Label(user ? "You" : "ConvLLaVA");
        role.getStyleClass().add("message-role");
        Label text = new Label();
        text.getStyleClass().add("message-text");
        text.setWrapText(true);
        text.textProperty().bind(m.textProperty());
        text.accessibleTextProperty().bind(Bindings.concat(user ? "Question: " : "Answer: ", m.textProperty()));
        Label error = new Label();
        error.getStyleClass().add("message-error");
        error.setWrapText(true);
        error.textProperty().bind(m.errorProperty());
        error.visibleProperty().bind(m.errorProperty().isNotNull());
        error.managedProperty().bind(error.visibleProperty());
        Label footer = new Label();
        footer.getStyleClass().add("message-footer");
        footer.setWrapText(true);
        footer.textProperty().bind(m.footerProperty());
        footer.visibleProperty().bind(m.footerProperty().isNotEmpty());
        footer.managedProperty().bind(footer.visibleProperty());
        footer.setAccessibleText("Answer statistics");
        Hyperlink heatmap = new Hyperlink("Heatmap");
        heatmap.getStyleClass().add("heatmap-link");
        heatmap.setAccessibleText("Show where the model looked while writing this answer");
        heatmap.visibleProperty().bind(m.attentionProperty().isNotNull());
        heatmap.managedProperty().bind(heatmap.visibleProperty());
        heatmap.setOnAction(e -> onShowHeatmap.accept(m));
        VBox box = new VBox(role, text, error, footer, heatmap);
        box.getStyleClass().addAll("message", user ? "user" : "assistant");
        MenuItem copy = new MenuItem("Copy");
        copy.setOnAction(e -> copy(m.text()));
        box.setOnContextMenuRequested(e -> new ContextMenu(copy).show(box, e.getScreenX(), e.getScreenY()));
        return box;
    }

    /** Puts the last answer on the clipboard. */
    public void copyLastAnswer() {
        String s = vm.lastAnswer();
        if (!s.isEmpty()) {
            copy(s);
        }
    }

    private static void copy(String s) {
        ClipboardContent c = new ClipboardContent();
        c.putString(s);
        Clipboard.getSystemClipboard().setContent(c);
    }

    @FXML
    private void onSend() {
        vm.send();
    }

    @FXML
    private void onStop() {
        vm.stop();
    }

    @FXML
    private void onRegenerate() {
        vm.regenerate();
    }

    @FXML
    private void onCopy() {
        copyLastAnswer();
    }

    @FXML
    private void onClear() {
        vm.clear();
    }

    @FXML
    private void onDismissError() {
        vm.dismissError();
    }
}
