package ai.convllava.tests.ui;

import ai.convllava.app.TestPdfs;
import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.image.TransferData;
import javafx.scene.control.ListView;
import javafx.scene.control.TextArea;
import javafx.scene.control.TextField;
import javafx.scene.input.KeyCode;
import javafx.stage.Stage;
import javafx.stage.Window;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Chat > Ask about every page on the tiny model: the answers per page, each leading to its page, and the chat works after it. */
class AskEveryPageUiTest extends AppUiTest {
    @Test
    void everyPageAnsweredAndEachAnswerLeadsToItsPage() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, UiSupport.tinyModel(), 8);
        app = ui.open(paths);
        await("the tiny model to load", 60, () -> app.viewModel().model().infoProperty().get() != null);
        Path pdf = TestPdfs.twoPages(tmp);
        assertTrue(fx(() -> app.view().handleTransfer(TransferData.ofFiles(pdf.toFile()))));
        await("page 1", 20, () -> app.viewModel().image().pageProperty().get() == 1 && !app.viewModel().image().busyProperty().get());

        robot.push(KeyCode.CONTROL, KeyCode.SHIFT, KeyCode.A);
        await("the window", 10, () -> sweepWindow() != null);
        Stage w = ui.track(fx(this::sweepWindow));
        TextField question = fx(() -> (TextField) w.getScene().getRoot().lookup(".text-field"));
        robot.clickOn(question).write("What is on this page?").type(KeyCode.ENTER);
        @SuppressWarnings("unchecked")
        ListView<Object> list = fx(() -> (ListView<Object>) w.getScene().getRoot().lookup(".list-view"));
        await("both pages answered", 60, () -> list.getItems().size() == 2 && !list.isDisabled());
        assertTrue(fx(() -> list.getItems().get(0).toString().contains("page=1")));
        await("the preview has its page back", 20, () -> !app.viewModel().image().busyProperty().get());

        fx(() -> {
            list.getSelectionModel().select(1);
            return null;
        });
        await("page 2 shown", 20, () -> app.viewModel().image().pageProperty().get() == 2 && !app.viewModel().image().busyProperty().get());
        TextArea answer = fx(() -> (TextArea) w.getScene().getRoot().lookup(".text-area"));
        assertFalse(fx(answer::getText).isBlank(), "the chosen page's whole answer");
        fx(() -> {
            answer.requestFocus();
            return null;
        });
        robot.push(KeyCode.ESCAPE);
        await("closed", 10, () -> !w.isShowing());

        // the chat goes on about the page shown
        fx(() -> {
            app.viewModel().chat().inputProperty().set("And this one?");
            app.viewModel().chat().send();
            return null;
        });
        await("the chat's answer", 60, () -> !app.viewModel().chat().answeringProperty().get() && app.viewModel().chat().messages().size() >= 2);
        assertEquals(2, (int) fx(() -> app.viewModel().image().pageProperty().get()));
    }

    private Stage sweepWindow() {
        for (Window w : Window.getWindows()) {
            if (w instanceof Stage s && s.isShowing() && s.getTitle() != null && s.getTitle().startsWith("Ask about every page")) {
                return s;
            }
        }
        return null;
    }
}
