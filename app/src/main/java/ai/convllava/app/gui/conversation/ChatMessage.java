package ai.convllava.app.gui.conversation;

import ai.convllava.app.gui.store.SavedConversation;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;

/** One message in the conversation pane; an answer's text grows while it streams. */
public final class ChatMessage {
    public enum Role { USER, ASSISTANT }

    private final Role role;
    private final ReadOnlyStringWrapper text = new ReadOnlyStringWrapper(this, "text", "");
    private final ReadOnlyStringWrapper footer = new ReadOnlyStringWrapper(this, "footer", "");
    private final ReadOnlyStringWrapper footerDetails = new ReadOnlyStringWrapper(this, "footerDetails", "");
    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper(this, "error");
    private final ReadOnlyBooleanWrapper streaming = new ReadOnlyBooleanWrapper(this, "streaming");
    private final ReadOnlyObjectWrapper<HeatmapSource> attention = new ReadOnlyObjectWrapper<>(this, "attention");
    private String finish;
    private SavedConversation.Stats stats;

    ChatMessage(Role role, String text) {
        this.role = role;
        this.text.set(text);
    }

    public Role role() {
        return role;
    }

    public String text() {
        return text.get();
    }

    public ReadOnlyStringProperty textProperty() {
        return text.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty footerProperty() {
        return footer.getReadOnlyProperty();
    }

    /** The footer's numbers with their technical names (its tooltip); empty when there are none. */
    public ReadOnlyStringProperty footerDetailsProperty() {
        return footerDetails.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty errorProperty() {
        return error.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty streamingProperty() {
        return streaming.getReadOnlyProperty();
    }

    /** EOS, LENGTH, CANCELLED, ERROR, or null while streaming / for questions. */
    public String finish() {
        return finish;
    }

    public SavedConversation.Stats stats() {
        return stats;
    }

    /** The answer's attention over the image, for heatmaps; null for questions, old or text-only answers (kept in memory only). */
    public ReadOnlyObjectProperty<HeatmapSource> attentionProperty() {
        return attention.getReadOnlyProperty();
    }

    void setAttention(HeatmapSource s) {
        attention.set(s);
    }

    void append(String delta) {
        text.set(text.get() + delta);
    }

    void setText(String t) {
        text.set(t);
    }

    void setStreaming(boolean on) {
        streaming.set(on);
    }

    void setError(String e) {
        error.set(e);
    }

    void finish(String reason, SavedConversation.Stats s, String footerText, String details) {
        finish = reason;
        stats = s;
        footer.set(footerText);
        footerDetails.set(details);
        streaming.set(false);
    }

    SavedConversation.Message toSaved() {
        if (role == Role.USER) {
            return new SavedConversation.Message("user", text(), null, null);
        }
        return new SavedConversation.Message("assistant", text(), streaming.get() ? "STREAMING" : finish, stats);
    }

    static ChatMessage fromSaved(SavedConversation.Message m, String footerText, String details) {
        ChatMessage c = new ChatMessage("user".equals(m.role()) ? Role.USER : Role.ASSISTANT, m.text() == null ? "" : m.text());
        c.finish = m.finish();
        c.stats = m.stats();
        c.footer.set(footerText);
        c.footerDetails.set(details);
        return c;
    }
}
