package ai.convllava.app.gui.conversation;

import ai.convllava.app.gui.store.ConversationStore;
import ai.convllava.app.gui.store.HeatmapFiles;
import ai.convllava.app.gui.store.SavedConversation;
import ai.convllava.model.api.image.RgbImage;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The saved conversations: the sidebar's list (most recent first) and every read and write of the
 * store, on the I/O executor (atomic writes; the list is updated on the UI thread).
 */
public final class ConversationLibrary {
    private static final Logger LOG = LoggerFactory.getLogger(ConversationLibrary.class);

    private final ConversationStore store;
    private final Executor io;
    private final Executor ui;
    private final ObservableList<SavedConversation> conversations = FXCollections.observableArrayList();
    private final ObservableList<SavedConversation> conversationsView = FXCollections.unmodifiableObservableList(conversations);

    public ConversationLibrary(ConversationStore store, Executor io, Executor ui) {
        this.store = store;
        this.io = io;
        this.ui = ui;
    }

    /** Saves a conversation (and, once, the copy of its pasted image or page) in the background; it moves to the top of the list. */
    public CompletableFuture<Void> save(SavedConversation snapshot, RgbImage imageCopy) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                if (imageCopy != null) {
                    store.saveImageCopy(snapshot.id(), imageCopy);
                }
                store.save(snapshot);
                done.complete(null);
            } catch (IOException | RuntimeException ex) {
                LOG.warn("conversation {} could not be saved: {}", snapshot.id(), ex.getMessage());
                done.completeExceptionally(ex);
            }
        });
        upsertListed(snapshot);
        return done;
    }

    private void upsertListed(SavedConversation c) {
        for (int i = 0; i < conversations.size(); i++) {
            if (conversations.get(i).id().equals(c.id())) {
                if (i == 0) {
                    conversations.set(0, c);
                } else {
                    conversations.remove(i);
                    conversations.add(0, c);
                }
                return;
            }
        }
        conversations.add(0, c);
    }

    /** Reads the saved conversations (in the background) into the list. */
    public CompletableFuture<Void> reload() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            List<SavedConversation> all = store.list();
            ui.execute(() -> {
                conversations.setAll(all);
                done.complete(null);
            });
        });
        return done;
    }

    /**
     * Removes a conversation from the list and moves its file (and its image copy) to the trash, in the background;
     * when that fails nothing was moved, and it is listed again before the returned future fails.
     */
    public CompletableFuture<Void> delete(SavedConversation c) {
        conversations.removeIf(x -> x.id().equals(c.id()));
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                store.trash(c);
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                ui.execute(() -> {
                    insertByDate(c);
                    done.completeExceptionally(e);
                });
            }
        });
        return done;
    }

    /** Lists {@code c} (once) where its date puts it. */
    private void insertByDate(SavedConversation c) {
        conversations.removeIf(x -> x.id().equals(c.id()));
        int at = 0;
        while (at < conversations.size() && conversations.get(at).updatedAt() >= c.updatedAt()) {
            at++;
        }
        conversations.add(at, c);
    }

    /** Brings a deleted conversation back from the trash; it is listed again (by its date) once its file is back. */
    public CompletableFuture<Void> restore(SavedConversation c) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                store.restore(c);
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
                return;
            }
            ui.execute(() -> {
                insertByDate(c);
                done.complete(null);
            });
        });
        return done;
    }

    /** Empties the trash in the background (at start). */
    public void emptyTrash() {
        io.execute(() -> {
            try {
                store.emptyTrash();
            } catch (IOException | RuntimeException e) {
                LOG.warn("the trash of deleted conversations could not be emptied: {}", e.getMessage());
            }
        });
    }

    /**
     * Saves an answer's heatmap (message {@code index} of conversation {@code id}) in the background, then
     * drops the least recently written maps beyond {@code capBytes}.
     */
    public CompletableFuture<Void> saveHeatmap(String id, int index, HeatmapSource source, long capBytes) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                store.heatmaps().save(id, index, new HeatmapFiles.Saved(source.maps(), source.canvas(), source.question()));
                store.heatmaps().trimTo(capBytes);
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                LOG.warn("the heatmap of conversation {} message {} could not be saved: {}", id, index, e.getMessage());
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** Drops the least recently written heatmaps beyond {@code capBytes}, in the background (when the cap changes, and at start). */
    public CompletableFuture<Void> trimHeatmaps(long capBytes) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                store.heatmaps().trimTo(capBytes);
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                LOG.warn("the saved heatmaps could not be trimmed to {} bytes: {}", capBytes, e.getMessage());
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** Deletes the saved heatmap of message {@code index} of conversation {@code id}, if any, in the background. */
    public void forgetHeatmap(String id, int index) {
        io.execute(() -> {
            try {
                Files.deleteIfExists(store.heatmaps().fileOf(id, index));
            } catch (IOException | RuntimeException e) {
                LOG.warn("the old heatmap of conversation {} message {} could not be deleted: {}", id, index, e.getMessage());
            }
        });
    }

    /** Reads the saved heatmaps of these messages of conversation {@code id} in the background; those found, by message index, on the UI thread. */
    public CompletableFuture<Map<Integer, HeatmapSource>> loadHeatmaps(String id, List<Integer> indices) {
        CompletableFuture<Map<Integer, HeatmapSource>> done = new CompletableFuture<>();
        io.execute(() -> {
            Map<Integer, HeatmapSource> found = new TreeMap<>();
            for (int i : indices) {
                try {
                    store.heatmaps().load(id, i).ifPresent(h -> found.put(i, new HeatmapSource(h.maps(), h.canvas(), h.question())));
                } catch (IOException | RuntimeException e) {
                    LOG.warn("the heatmap of conversation {} message {} is not shown: {}", id, i, e.getMessage());
                }
            }
            ui.execute(() -> done.complete(found));
        });
        return done;
    }

    /** The bytes the saved heatmaps take, read in the background. */
    public CompletableFuture<Long> heatmapBytes() {
        CompletableFuture<Long> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                done.complete(store.heatmaps().totalBytes());
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** Writes a conversation as Markdown or JSON (by the file's extension), the image beside it, in the background. */
    public CompletableFuture<Void> export(SavedConversation c, Path target) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                if (target.getFileName().toString().toLowerCase().endsWith(".json")) {
                    store.exportJson(c, target);
                } else {
                    store.exportMarkdown(c, target);
                }
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** The image file a saved conversation is about (its own file, or the copy kept for it), if it is still there. */
    public Optional<Path> imageOf(SavedConversation c) {
        return store.imageOf(c);
    }

    public ObservableList<SavedConversation> conversations() {
        return conversationsView;
    }
}
