package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.store.ConversationStore;
import ai.convllava.app.gui.store.SavedConversation;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.ListView;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deleting conversations in the real app (no model needed): the preview follows the selection to the
 * next conversation's image (none once the last is gone), and Undo brings a deleted one back, selected and
 * shown, with its file.
 */
class DeleteConversationUiTest extends AppUiTest {
    private static SavedConversation about(String id, String image, String question, long updatedAt) {
        return new SavedConversation(id, question, updatedAt, updatedAt, UiSupport.fixtures().resolve("tiny/images/" + image).toString(), null,
                "PAD", null, List.of(new SavedConversation.Message("user", question, null, null),
                        new SavedConversation.Message("assistant", "an answer", "EOS", null)));
    }

    @SuppressWarnings("unchecked")
    private String selectedId() {
        return fx(() -> {
            SavedConversation c = ((ListView<SavedConversation>) app.scene().lookup(".conversation-list")).getSelectionModel().getSelectedItem();
            return c == null ? null : c.id();
        });
    }

    private Path shownImage() {
        return fx(() -> app.viewModel().image().originalProperty().get() == null ? null : app.viewModel().image().sourcePathProperty().get());
    }

    private boolean undoShown() {
        return fx(() -> app.scene().lookup("#undoDeleteBox").isVisible());
    }

    @Test
    void thePreviewFollowsTheSelectionAfterADeleteAndUndoBringsTheConversationBack() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        ConversationStore store = new ConversationStore(paths.conversationsDir(), paths.imagesDir());
        store.save(about("aaaaaaaa-0000-0000-0000-000000000001", "wide.png", "About the wide chart", 1_000));
        store.save(about("aaaaaaaa-0000-0000-0000-000000000002", "tall.png", "About the tall chart", 2_000));
        UiSupport.writeSettings(paths, null, 16);
        app = ui.open(paths);
        await("both conversations listed", 20, () -> app.viewModel().chat().conversations().size() == 2);
        Path wide = UiSupport.fixtures().resolve("tiny/images/wide.png");
        Path tall = UiSupport.fixtures().resolve("tiny/images/tall.png");

        // listed is not yet laid out: wait for the cells, as a user waits to see them
        await("both conversations' cells", 20, () -> robot.lookup(".conversation-list .list-cell").queryAll().stream()
                .filter(n -> n.isVisible() && n instanceof ListCell<?> c && c.getItem() != null).count() == 2);
        robot.clickOn("About the tall chart");
        await("the tall chart's image", 20, () -> tall.equals(shownImage()));
        assertFalse(undoShown());

        robot.clickOn("Delete");
        await("the next conversation and its image", 20, () -> "aaaaaaaa-0000-0000-0000-000000000001".equals(selectedId())
                && wide.equals(shownImage()));
        assertEquals(1, fx(() -> app.viewModel().chat().conversations().size()));
        assertTrue(undoShown());
        assertEquals("Deleted \u201cAbout the tall chart\u201d", fx(() -> ((Label) app.scene().lookup("#undoDeleteLabel")).getText()));
        await("its file in the trash", 20, () -> !Files.exists(paths.conversationsDir().resolve("aaaaaaaa-0000-0000-0000-000000000002.json")));

        robot.clickOn("Undo");
        await("the deleted conversation back, selected and shown", 20, () -> app.viewModel().chat().conversations().size() == 2
                && "aaaaaaaa-0000-0000-0000-000000000002".equals(selectedId()) && tall.equals(shownImage()));
        assertTrue(Files.isRegularFile(paths.conversationsDir().resolve("aaaaaaaa-0000-0000-0000-000000000002.json")));
        assertFalse(undoShown());

        robot.clickOn("Delete");
        await("the wide chart shown", 20, () -> wide.equals(shownImage()));
        robot.clickOn("Delete");
        await("no conversation and no image left", 20, () -> app.viewModel().chat().conversations().isEmpty() && shownImage() == null
                && selectedId() == null);
        assertEquals("Deleted \u201cAbout the wide chart\u201d", fx(() -> ((Label) app.scene().lookup("#undoDeleteLabel")).getText()));
    }
}
