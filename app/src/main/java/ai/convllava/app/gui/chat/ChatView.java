package ai.convllava.app.gui.chat;

import ai.convllava.app.gui.common.Fxml;
import ai.convllava.app.gui.conversation.ChatMessage;
import ai.convllava.app.gui.conversation.HeatmapSource;
import ai.convllava.model.api.heatmap.TokenPiece;
import javafx.beans.binding.Bindings;
import javafx.beans.value.ChangeListener;
import javafx.beans.value.WeakChangeListener;
import javafx.collections.ListChangeListener;
import javafx.fxml.FXML;
import javafx.scene.Cursor;
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
import javafx.scene.control.Tooltip;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyEvent;
import javafx.scene.input.MouseButton;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;
import javafx.scene.text.Text;
import javafx.scene.text.TextFlow;

import java.util.List;
import java.util.function.BiConsumer;

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
    private BiConsumer<ChatMessage, Integer> onShowHeatmap = (m, piece) -> { };

    public ChatView(ChatViewModel vm) {
        this.vm = vm;
        Fxml.load("ChatView.fxml", this);
        bind();
    }

    public Parent root() {
        return root;
    }

    /**
     * What the "Heatmap" link under an answer (piece -1: the whole answer) and a click on one of its
     * words (that word's piece of {@code AttentionMaps.pieces()}) do: the main view opens the heatmap
     * panel on it.
     */
    public void setOnShowHeatmap(BiConsumer<ChatMessage, Integer> action) {
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
            } else if (e.getCode() == KeyCode.TAB && !e.isControlDown() && !e.isAltDown() && !e.isMetaDown()) {
                // Tab (Shift+Tab) moves the focus on, as from every other control, instead of typing a tab
                // into the question: sent on as Ctrl+Tab, which is the text area's own key for moving on
                e.consume();
                questionArea.fireEvent(new KeyEvent(KeyEvent.KEY_PRESSED, "", "", KeyCode.TAB, e.isShiftDown(), true, false, false));
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
        heatmap.setOnAction(e -> onShowHeatmap.accept(m, -1));
        VBox box = new VBox(role, text, error, footer, heatmap);
        box.getStyleClass().addAll("message", user ? "user" : "assistant");
        if (!user) {
            // once the answer's maps are in, its words can be clicked; held by the bubble and observed
            // weakly, so the bubbles a rebuild drops do not stay attached to the message
            ChangeListener<HeatmapSource> words = (o, was, now) -> box.getChildren().set(1, answerText(m, now, text));
            box.getProperties().put(ChangeListener.class, words);
            m.attentionProperty().addListener(new WeakChangeListener<>(words));
            box.getChildren().set(1, answerText(m, m.attentionProperty().get(), text));
        }
        MenuItem copy = new MenuItem("Copy");
        copy.setOnAction(e -> copy(m.text()));
        box.setOnContextMenuRequested(e -> new ContextMenu(copy).show(box, e.getScreenX(), e.getScreenY()));
        return box;
    }

    /**
     * The answer as the words of its heatmap, each opening the map of itself, when the answer has maps
     * and its text is exactly their pieces' (else, or while streaming, the plain label).
     */
    private Node answerText(ChatMessage m, HeatmapSource source, Label plain) {
        if (source == null) {
            return plain;
        }
        List<TokenPiece> pieces = source.maps().pieces();
        StringBuilder all = new StringBuilder();
        for (TokenPiece p : pieces) {
            all.append(p.end() ? "" : p.text());
        }
        if (!all.toString().strip().equals(m.text().strip())) {
            return plain; // an edited or re-decoded text: the pieces no longer say where each word is
        }
        TextFlow flow = new TextFlow();
        flow.getStyleClass().add("message-text");
        boolean leading = true;
        for (int i = 0; i < pieces.size(); i++) {
            TokenPiece p = pieces.get(i);
            String t = p.end() ? "" : leading ? p.text().stripLeading() : p.text();
            if (t.isEmpty()) {
                continue;
            }
            leading = false;
            Text word = new Text(t);
            word.getStyleClass().add("answer-word");
            word.setCursor(Cursor.HAND);
            int piece = i;
            word.setOnMouseClicked(e -> {
                if (e.getButton() == MouseButton.PRIMARY) {
                    onShowHeatmap.accept(m, piece);
                }
            });
            flow.getChildren().add(word);
        }
        flow.setAccessibleText("Answer: " + m.text());
        Tooltip.install(flow, new Tooltip("Click a word to see where the model looked while it wrote it"));
        return flow;
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
