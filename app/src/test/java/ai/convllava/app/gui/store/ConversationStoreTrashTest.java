package ai.convllava.app.gui.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Trash and restore are all or nothing: a move that fails puts back what was moved, so nothing waits in the trash by mistake. */
class ConversationStoreTrashTest {
    @TempDir
    Path tmp;

    private ConversationStore store;
    private SavedConversation c;
    private Path json;
    private Path heatmap;
    private Path image;

    private void setUp() throws IOException {
        store = new ConversationStore(tmp.resolve("conversations"), tmp.resolve("images"));
        c = new SavedConversation("c1", "q", 1, 2, null, "c1.png", null, null, List.of());
        store.save(c);
        json = tmp.resolve("conversations").resolve("c1.json");
        heatmap = store.heatmaps().fileOf("c1", 1);
        Files.createDirectories(heatmap.getParent());
        Files.write(heatmap, new byte[] {1, 2, 3});
        Files.createDirectories(store.imagesDir());
        image = store.imagesDir().resolve("c1.png");
        Files.write(image, new byte[] {4, 5});
    }

    /** Every move goes through; the {@code n}th (1-based) throws. */
    private void failMove(int n) {
        AtomicInteger moves = new AtomicInteger();
        store.setMover((from, to) -> {
            if (moves.incrementAndGet() == n) {
                throw new IOException("locked: " + from.getFileName());
            }
            Files.move(from, to);
        });
    }

    private void assertWhole() {
        assertTrue(Files.isRegularFile(json), "the conversation's file is in place");
        assertTrue(Files.isRegularFile(heatmap), "its heatmap too");
        assertTrue(Files.isRegularFile(image), "and its image copy");
        assertEquals(List.of("c1"), store.list().stream().map(SavedConversation::id).toList());
    }

    @Test
    void aTrashThatFailsOnTheImageMovesNothing() throws IOException {
        setUp();
        failMove(2); // 1: the heatmap, 2: the image copy
        IOException e = assertThrows(IOException.class, () -> store.trash(c));
        assertEquals("locked: c1.png", e.getMessage());
        assertWhole();
        assertFalse(Files.exists(tmp.resolve("conversations/trash/c1.json")), "nothing the next start would delete for good");
        store.emptyTrash();
        assertWhole();
    }

    @Test
    void aTrashThatFailsOnItsLastMoveMovesNothing() throws IOException {
        setUp();
        failMove(3);
        assertThrows(IOException.class, () -> store.trash(c));
        assertWhole();
    }

    @Test
    void aRestoreThatFailsLeavesEverythingInTheTrashForAnotherTry() throws IOException {
        setUp();
        store.trash(c);
        assertFalse(Files.exists(json));
        Path trash = tmp.resolve("conversations/trash");
        failMove(2);
        assertThrows(IOException.class, () -> store.restore(c));
        assertFalse(Files.exists(json), "not listed half restored");
        assertFalse(Files.exists(image));
        assertFalse(Files.exists(heatmap));
        assertTrue(Files.isRegularFile(trash.resolve("c1.json")));
        assertTrue(Files.isRegularFile(trash.resolve("c1.png")));
        assertTrue(Files.isRegularFile(trash.resolve(heatmap.getFileName())));

        store.setMover((from, to) -> Files.move(from, to));
        store.restore(c);
        assertWhole();
    }
}
