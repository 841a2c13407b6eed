package ai.convllava.app.gui.conversation;

import ai.convllava.app.gui.store.ConversationStore;
import ai.convllava.app.gui.store.SavedConversation;
import ai.convllava.app.gui.store.StatsText;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.RgbImage;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.util.ArrayList;
import java.util.List;

/**
 * The conversation on screen: its messages (questions, and answers that grow while they stream), its
 * identity on disk (id, title, creation time), the image it is about (a file, or a copy kept for a
 * pasted image or a PDF page) and its canvas mode; the only place messages change. The attention maps
 * of the last {@link #KEEP_ATTENTION_ANSWERS} answers are kept, in memory. UI thread only.
 */
public final class OpenConversation {
    /** Per token a map is one (layers x image tokens) copy: only the last few answers keep theirs. */
    public static final int KEEP_ATTENTION_ANSWERS = 8;

    private final ObservableList<ChatMessage> messages = FXCollections.observableArrayList();
    // one wrapper: a view listens to it, and a fresh wrapper per call would be collected with its listeners
    private final ObservableList<ChatMessage> messagesView = FXCollections.unmodifiableObservableList(messages);
    private final ReadOnlyObjectWrapper<String> id = new ReadOnlyObjectWrapper<>(this, "id");
    private final ReadOnlyObjectWrapper<ChatMessage> latestAttention = new ReadOnlyObjectWrapper<>(this, "latestAttention");
    private String title;
    private long createdAt;
    private String imagePath;
    private String imageCopy;
    private RgbImage pendingCopy;
    private CanvasMode mode;

    /** Begins a new conversation with its first question: a new id and a title from the question. */
    public void start(String firstQuestion, long now, CanvasMode canvasMode, String imageFile, RgbImage imageToCopy) {
        id.set(ConversationStore.newId());
        String t = firstQuestion.replaceAll("\\s+", " ");
        title = t.length() > 60 ? t.substring(0, 59) + "\u2026" : t;
        createdAt = now;
        mode = canvasMode;
        imagePath = imageFile;
        imageCopy = null;
        pendingCopy = imageToCopy;
    }

    /** Nothing on screen: a new, empty conversation (the previous one stays saved). */
    public void clear() {
        messages.clear();
        latestAttention.set(null);
        id.set(null);
        title = null;
        imageCopy = null;
        imagePath = null;
        pendingCopy = null;
    }

    /** Shows a saved conversation; its mode becomes this one's ({@code fallbackMode} when the file's is unreadable). */
    public void load(SavedConversation c, CanvasMode fallbackMode) {
        messages.clear();
        latestAttention.set(null);
        for (SavedConversation.Message m : c.messages()) {
            String footer = m.stats() != null ? StatsText.of(m.stats(), m.finish()) : StatsText.finishText(m.finish());
            messages.add(ChatMessage.fromSaved(m, footer, m.stats() != null ? StatsText.details(m.stats(), m.finish()) : ""));
        }
        id.set(c.id());
        title = c.title();
        createdAt = c.createdAt();
        imagePath = c.imagePath();
        imageCopy = c.imageCopy();
        pendingCopy = null;
        try {
            mode = CanvasMode.valueOf(c.canvasMode());
        } catch (IllegalArgumentException | NullPointerException e) {
            mode = fallbackMode;
        }
    }

    public void addQuestion(String text) {
        messages.add(new ChatMessage(ChatMessage.Role.USER, text));
    }

    /** An empty answer, streaming, at the end. */
    public ChatMessage startAnswer() {
        ChatMessage answer = new ChatMessage(ChatMessage.Role.ASSISTANT, "");
        answer.setStreaming(true);
        messages.add(answer);
        return answer;
    }

    public void append(ChatMessage answer, String text) {
        answer.append(text);
    }

    /** Ends an answer: its final text (kept as streamed when null), error, finish reason, numbers and footer (plain, and its details). */
    public void finish(ChatMessage answer, String text, String error, String finish, SavedConversation.Stats stats, String footer,
                       String footerDetails) {
        if (text != null) {
            answer.setText(text);
        }
        if (error != null) {
            answer.setError(error);
        }
        answer.finish(finish, stats, footer, footerDetails);
    }

    /** Gives an answer its heatmap; only the last {@link #KEEP_ATTENTION_ANSWERS} answers keep theirs. */
    public void keepAttention(ChatMessage answer, HeatmapSource source) {
        answer.setAttention(source);
        int kept = 0;
        for (int i = messages.size() - 1; i >= 0; i--) {
            ChatMessage m = messages.get(i);
            if (m.attentionProperty().get() != null && ++kept > KEEP_ATTENTION_ANSWERS) {
                m.setAttention(null);
            }
        }
        latestAttention.set(answer);
    }

    /** Removes the last answer (to write it again). */
    public void removeLastAnswer() {
        if (!messages.isEmpty() && messages.get(messages.size() - 1).role() == ChatMessage.Role.ASSISTANT) {
            messages.remove(messages.size() - 1);
        }
    }

    /** Every exchange shown, the last one pending when its answer is not there yet. */
    public List<Turn> turns() {
        List<Turn> turns = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (m.role() != ChatMessage.Role.USER) {
                continue;
            }
            boolean answered = i + 1 < messages.size() && messages.get(i + 1).role() == ChatMessage.Role.ASSISTANT;
            turns.add(new Turn(m.text(), answered ? messages.get(i + 1).text() : null));
        }
        return turns;
    }

    /** The last answer's text; empty when there is none. */
    public String lastAnswer() {
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i).role() == ChatMessage.Role.ASSISTANT) {
                return messages.get(i).text();
            }
        }
        return "";
    }

    public boolean endsWithAnswer() {
        return !messages.isEmpty() && messages.get(messages.size() - 1).role() == ChatMessage.Role.ASSISTANT;
    }

    /**
     * A pasted image or a PDF page is kept as a copy beside the conversation: the one still to write
     * (null when none, or already written), after which it is named in the saved conversation.
     */
    public RgbImage takeImageToCopy() {
        RgbImage copy = pendingCopy;
        if (copy != null) {
            imageCopy = id.get() + ".png";
            pendingCopy = null;
        }
        return copy;
    }

    /** The conversation as it would be saved now. */
    public SavedConversation snapshot(long now, SavedConversation.Generation settings, CanvasMode currentMode) {
        List<SavedConversation.Message> saved = new ArrayList<>();
        for (ChatMessage m : messages) {
            saved.add(m.toSaved());
        }
        CanvasMode m = mode != null ? mode : currentMode;
        return new SavedConversation(id.get(), title, createdAt, now, imagePath, imageCopy, m.name(), settings, saved);
    }

    public ObservableList<ChatMessage> messages() {
        return messagesView;
    }

    public boolean isEmpty() {
        return messages.isEmpty();
    }

    public ReadOnlyObjectProperty<String> idProperty() {
        return id.getReadOnlyProperty();
    }

    /** The last answer that has a heatmap (null after New chat or opening a saved conversation). */
    public ReadOnlyObjectProperty<ChatMessage> latestAttentionProperty() {
        return latestAttention.getReadOnlyProperty();
    }

    /** The canvas mode the conversation was asked in, or null before its first question. */
    public CanvasMode mode() {
        return mode;
    }

    public String title() {
        return title;
    }
}
