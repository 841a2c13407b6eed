package ai.convllava.app.gui.chat;

import ai.convllava.app.gui.common.Fxml;
import ai.convllava.app.gui.conversation.ChatMessage;
import ai.convllava.app.gui.conversation.HeatmapSource;
import ai.convllava.model.api.heatmap.TokenPiece;
import javafx.beans.InvalidationListener;
import javafx.beans.WeakInvalidationListener;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
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
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyEvent;
import javafx.scene.layout.HBox;
import javafx.scene.layout.VBox;

import java.util.ArrayList;
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
    @FXML private Button jumpButton;
    /** The chat keeps the end of the conversation in view (until the reader scrolls up from it). */
    private final ReadOnlyBooleanWrapper following = new ReadOnlyBooleanWrapper(this, "following", true);
    /** The messages' height when the scroll position was last the reader's doing. */
    private double laidOutHeight;
    /** The scroll position is being set here, not by the reader. */
    private boolean scrolling;
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
        followTheEnd();

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
        Tooltip regenerate = new Tooltip();
        regenerate.textProperty().bind(vm.regenerateHintProperty());
        regenerateButton.setTooltip(regenerate);
        copyButton.disableProperty().bind(Bindings.isEmpty(vm.messages()));
        clearButton.disableProperty().bind(vm.canClearProperty().not());
    }

    /**
     * The chat follows the end while an answer grows, and scrolls to a question when it is asked; once
     * the reader scrolls up it stays where it is and offers a button to the latest text. Whether the
     * chat follows changes only with the reader's own scrolling: when the messages grow, the scroll
     * pane's skin rescales vvalue so that the visible text does not move (and resets it while
     * everything fits), and taking those changes for the reader's stopped the following at the
     * first growth.
     */
    private void followTheEnd() {
        messagesScroll.vvalueProperty().addListener((o, a, v) -> {
            if (!scrolling && messagesBox.getHeight() == laidOutHeight) {
                following.set(atEnd());
            }
        });
        messagesBox.heightProperty().addListener((o, a, h) -> {
            laidOutHeight = h.doubleValue();
            if (following.get() || fitsInView()) {
                following.set(true);
                scrollToEnd();
            }
        });
        vm.messages().addListener((ListChangeListener<ChatMessage>) c -> {
            while (c.next()) {
                if (c.wasAdded() && c.getAddedSubList().stream().anyMatch(m -> m.role() == ChatMessage.Role.USER) || c.getList().isEmpty()) {
                    following.set(true); // a question asked (or a new chat): show it, and follow its answer
                    scrollToEnd();
                }
            }
        });
        jumpButton.visibleProperty().bind(following.not());
        jumpButton.managedProperty().bind(jumpButton.visibleProperty());
    }

    private boolean atEnd() {
        return fitsInView() || messagesScroll.getVvalue() >= messagesScroll.getVmax() - 1e-6;
    }

    private boolean fitsInView() {
        return messagesBox.getHeight() <= messagesScroll.getViewportBounds().getHeight();
    }

    private void scrollToEnd() {
        scrolling = true;
        try {
            messagesScroll.setVvalue(messagesScroll.getVmax());
        } finally {
            scrolling = false;
        }
    }

    /** Whether the chat keeps the end of the conversation in view (false once the reader scrolled up). */
    public ReadOnlyBooleanProperty followingProperty() {
        return following.getReadOnlyProperty();
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
        // the numbers with their technical names on hover; the line itself is in plain words
        Tooltip details = new Tooltip();
        details.textProperty().bind(m.footerDetailsProperty());
        footer.tooltipProperty().bind(Bindings.when(m.footerDetailsProperty().isEmpty()).then((Tooltip) null).otherwise(details));
        footer.accessibleHelpProperty().bind(m.footerDetailsProperty());
        Hyperlink heatmap = new Hyperlink("Heatmap");
        heatmap.getStyleClass().add("heatmap-link");
        heatmap.setAccessibleText("Show where the model looked while writing this answer");
        heatmap.visibleProperty().bind(m.attentionProperty().isNotNull());
        heatmap.managedProperty().bind(heatmap.visibleProperty());
        heatmap.setOnAction(e -> onShowHeatmap.accept(m, -1));
        if (user) {
            Label text = new Label();
            text.getStyleClass().add("message-text");
            text.setWrapText(true);
            text.textProperty().bind(m.textProperty());
            text.accessibleTextProperty().bind(Bindings.concat("Question: ", m.textProperty()));
            VBox box = new VBox(role, text, error, footer);
            box.getStyleClass().addAll("message", "user");
            MenuItem copy = new MenuItem("Copy");
            copy.setOnAction(e -> MarkdownText.copy(m.text()));
            box.setOnContextMenuRequested(e -> new ContextMenu(copy).show(box, e.getScreenX(), e.getScreenY()));
            return box;
        }
        MarkdownText text = new MarkdownText();
        Hyperlink copyAnswer = new Hyperlink("Copy");
        copyAnswer.getStyleClass().add("copy-answer-link");
        copyAnswer.setAccessibleText("Copy this answer");
        copyAnswer.visibleProperty().bind(m.streamingProperty().not());
        copyAnswer.managedProperty().bind(copyAnswer.visibleProperty());
        copyAnswer.setOnAction(e -> MarkdownText.copy(m.text()));
        HBox links = new HBox(copyAnswer, heatmap);
        links.getStyleClass().add("message-links");
        VBox box = new VBox(role, text.root(), error, footer, links);
        box.getStyleClass().addAll("message", "assistant");
        // the answer is rendered again as it grows, and with clickable words once its maps are in; held by
        // the bubble and observed weakly, so the bubbles a rebuild drops do not stay attached to the message
        InvalidationListener render = o -> render(m, text);
        box.getProperties().put(InvalidationListener.class, render);
        m.textProperty().addListener(new WeakInvalidationListener(render));
        m.attentionProperty().addListener(new WeakInvalidationListener(render));
        render(m, text);
        MenuItem copySelection = new MenuItem("Copy selection");
        copySelection.setOnAction(e -> MarkdownText.copy(text.selectedText()));
        MenuItem copy = new MenuItem("Copy answer");
        copy.setOnAction(e -> MarkdownText.copy(m.text()));
        box.setOnContextMenuRequested(e -> {
            copySelection.setDisable(text.selectedText().isEmpty());
            new ContextMenu(copySelection, copy).show(box, e.getScreenX(), e.getScreenY());
        });
        return box;
    }

    /** The answer's Markdown, its words clickable (each opening its map) when the answer's maps match its text. */
    private void render(ChatMessage m, MarkdownText text) {
        Words words = Words.of(m.text(), m.attentionProperty().get());
        text.setMarkdown(m.text(), words == null ? null : words.starts());
        text.setOnWordClicked(k -> onShowHeatmap.accept(m, words == null ? -1 : words.pieces()[k]));
        text.root().setAccessibleText("Answer: " + m.text());
        if (words != null && text.root().getProperties().get(Tooltip.class) == null) {
            Tooltip tip = new Tooltip("Click a word to see where the model looked while it wrote it");
            Tooltip.install(text.root(), tip);
            text.root().getProperties().put(Tooltip.class, tip);
        }
    }

    /**
     * Where the heatmap's words start in an answer's text (ascending) and the piece of
     * {@code AttentionMaps.pieces()} each is; null without maps, or when the text is not exactly their
     * pieces' (an edited or re-decoded text: the pieces no longer say where each word is).
     */
    private record Words(int[] starts, int[] pieces) {
        static Words of(String text, HeatmapSource source) {
            if (source == null) {
                return null;
            }
            List<TokenPiece> pieces = source.maps().pieces();
            StringBuilder all = new StringBuilder();
            for (TokenPiece p : pieces) {
                all.append(p.end() ? "" : p.text());
            }
            String joined = all.toString();
            if (!joined.strip().equals(text.strip())) {
                return null;
            }
            int shift = text.indexOf(text.strip()) - joined.indexOf(joined.strip());
            List<int[]> found = new ArrayList<>();
            int at = 0;
            for (int i = 0; i < pieces.size(); i++) {
                String t = pieces.get(i).end() ? "" : pieces.get(i).text();
                int start = at + shift;
                at += t.length();
                if (!t.isEmpty() && start >= 0 && start < text.length() && (found.isEmpty() || start > found.get(found.size() - 1)[0])) {
                    found.add(new int[] {start, i});
                }
            }
            return new Words(found.stream().mapToInt(f -> f[0]).toArray(), found.stream().mapToInt(f -> f[1]).toArray());
        }
    }

    /** Puts the last answer on the clipboard. */
    public void copyLastAnswer() {
        String s = vm.lastAnswer();
        if (!s.isEmpty()) {
            copy(s);
        }
    }

    private static void copy(String s) {
        MarkdownText.copy(s);
    }

    @FXML
    private void onJumpToLatest() {
        following.set(true);
        scrollToEnd();
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
