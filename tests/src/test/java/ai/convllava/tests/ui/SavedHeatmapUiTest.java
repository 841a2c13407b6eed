package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.heatmap.HeatmapViewModel;
import javafx.scene.Node;
import javafx.scene.input.KeyCode;
import org.junit.jupiter.api.Test;


import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An answer's heatmap on the tiny model is saved with its conversation: after switching to another
 * conversation and back, and after a restart, its Heatmap link opens the map again.
 */
class SavedHeatmapUiTest extends AppUiTest {
    private boolean heatmapLinkShown() {
        return fx(() -> robot.lookup(".heatmap-link").queryAll().stream().anyMatch(Node::isVisible));
    }

    private boolean cellShown() {
        return robot.lookup(".conversation-list .list-cell").queryAll().stream()
                .anyMatch(n -> n.isVisible() && n instanceof javafx.scene.control.ListCell<?> c && c.getItem() != null);
    }

    @Test
    void aHeatmapOpensAgainAfterSwitchingConversationsAndAfterARestart() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        openTinyModelWithWideImage(paths);
        robot.clickOn(".question").write(UiSupport.QUESTION).type(KeyCode.ENTER);
        await("the answer", 60, () -> app.viewModel().chat().messages().size() == 2 && !app.viewModel().chat().answeringProperty().get());
        await("the Heatmap link", 10, this::heatmapLinkShown);
        String pieces = fx(() -> app.viewModel().heatmap().sourceProperty().get().maps().text());

        robot.clickOn("New chat");
        await("an empty chat", 10, () -> app.viewModel().chat().messages().isEmpty());
        await("the conversation's cell", 20, this::cellShown);
        robot.clickOn(UiSupport.QUESTION);
        await("the conversation's map back", 30, () -> app.viewModel().chat().messages().size() == 2 && heatmapLinkShown());
        robot.clickOn(".heatmap-link");
        HeatmapViewModel hm = app.viewModel().heatmap();
        await("the panel on the saved map", 10, () -> app.view().heatmapView().root().isVisible() && hm.sourceProperty().get() != null);
        assertEquals(pieces, fx(() -> hm.sourceProperty().get().maps().text()));

        ui.close(app);
        app = ui.open(paths);
        await("the saved conversation", 20, () -> app.viewModel().chat().conversations().size() == 1);
        await("its cell", 20, this::cellShown);
        robot.clickOn(UiSupport.QUESTION);
        await("the map after a restart", 30, () -> app.viewModel().chat().messages().size() == 2 && heatmapLinkShown());
        robot.clickOn(".heatmap-link");
        await("the panel after a restart", 10, () -> app.view().heatmapView().root().isVisible()
                && app.viewModel().heatmap().sourceProperty().get() != null);
        assertEquals(pieces, fx(() -> app.viewModel().heatmap().sourceProperty().get().maps().text()));
    }
}
