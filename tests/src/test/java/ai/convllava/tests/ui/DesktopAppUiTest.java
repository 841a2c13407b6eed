package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.DesktopApp;
import ai.convllava.app.gui.conversation.ChatMessage;
import ai.convllava.app.gui.image.TransferData;
import ai.convllava.app.gui.store.SavedConversation;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.SessionState;
import javafx.collections.ListChangeListener;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.control.ListView;
import javafx.scene.image.Image;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.input.KeyCode;
import javafx.scene.shape.Path;
import org.junit.jupiter.api.Test;
import org.testfx.util.WaitForAsyncUtils;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The desktop app, headless (Monocle), on the tiny fixture model with the real LocalVisionChatSession:
 * drop, paste, the canvas and grid readout, pad/native, a streamed answer equal to the CLI's, Stop,
 * a restart that finds the conversation again, and a question read while it was typed.
 */
class DesktopAppUiTest extends AppUiTest {
    private String readout() {
        return fx(() -> ((Label) app.scene().lookup(".readout")).getText());
    }

    private ChatMessage lastMessage() {
        return fx(() -> {
            List<ChatMessage> m = app.viewModel().chat().messages();
            return m.get(m.size() - 1);
        });
    }

    @Test
    void dropAskStreamStopAndFindTheConversationAfterARestart() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, UiSupport.tinyModel(), 16);
        app = ui.open(paths);
        await("the tiny model to load", 60, () -> app.viewModel().model().infoProperty().get() != null);
        assertEquals(SessionState.READY, fx(() -> app.viewModel().chat().stateProperty().get()));

        // drop wide.png, as a DragEvent's handler would get it
        assertTrue(fx(() -> app.view().handleTransfer(TransferData.ofFiles(UiSupport.wide().toFile()))));
        await("the canvas preview", 20, () -> app.viewModel().image().preprocessedProperty().get() != null);
        assertEquals("256 x 256 canvas - 4 x 4 = 16 visual tokens - image occupies 256 x 170", readout());
        CanvasGeometry g = fx(() -> app.viewModel().image().preprocessedProperty().get().geometry());
        assertEquals(256, g.canvasWidth());
        Path grid = fx(() -> (Path) app.view().preview().overlay().lookup(".token-grid"));
        assertEquals(2 * (5 + 5), fx(() -> grid.getElements().size()), "4 x 4 cells: 5 vertical and 5 horizontal lines");
        assertTrue(fx(() -> app.view().preview().overlay().lookupAll(".padding-hatch").size()) >= 2, "the padding is hatched");

        // native aspect: the readout follows at once, the canvas when preprocessed
        robot.clickOn("Native aspect");
        assertEquals("384 x 256 canvas - 6 x 4 = 24 visual tokens - image occupies 384 x 256", readout());
        await("the native canvas", 20, () -> app.viewModel().image().preprocessedProperty().get().canvas().width() == 384);
        robot.push(KeyCode.CONTROL, KeyCode.G);
        assertFalse(fx(() -> app.settings().showGridProperty().get()), "Ctrl+G hides the grid");
        assertTrue(fx(() -> app.view().preview().overlay().lookup(".token-grid") == null));
        robot.push(KeyCode.CONTROL, KeyCode.G);
        robot.clickOn("Pad to square");
        await("the padded canvas again", 20, () -> app.viewModel().image().preprocessedProperty().get().canvas().width() == 256
                && !app.viewModel().image().busyProperty().get());

        // ask: the answer streams in and equals the command line's
        // the text listener is attached in the same FX event that adds the answer message, so no
        // update can slip past it however fast the tiny model answers
        List<String> seen = new CopyOnWriteArrayList<>();
        run(() -> app.viewModel().chat().messages().addListener((ListChangeListener<ChatMessage>) c -> {
            while (c.next()) {
                for (ChatMessage added : c.getAddedSubList()) {
                    if (c.getList().indexOf(added) == 1) {
                        added.textProperty().addListener((o, a, t) -> seen.add(t));
                    }
                }
            }
        }));
        robot.clickOn(".question").write(UiSupport.QUESTION).type(KeyCode.ENTER);
        await("the answer to start", 30, () -> app.viewModel().chat().messages().size() == 2);
        ChatMessage answer = lastMessage();
        await("the answer to finish", 60, () -> !app.viewModel().chat().answeringProperty().get());
        assertEquals(UiSupport.CLI_ANSWER, fx(answer::text));
        assertEquals(2, fx(() -> app.view().chatView().messagesBox().getChildren().size()), "both messages are on screen");
        assertTrue(fx(() -> app.view().chatView().messagesBox().lookupAll(".message-text").stream()
                .anyMatch(n -> UiSupport.CLI_ANSWER.equals(UiSupport.shownText(n)))), "the answer is on screen");
        assertTrue(seen.size() >= 2, "the answer appeared in steps, not at once: " + seen);
        assertTrue(seen.get(0).length() < UiSupport.CLI_ANSWER.length(), "first update already shorter than the answer: " + seen);
        String footer = fx(() -> answer.footerProperty().get());
        assertTrue(footer.contains("16 tokens at") && footer.contains("a second"), footer);
        String details = fx(() -> answer.footerDetailsProperty().get());
        assertTrue(details.contains("tokens/s") && details.contains("16 visual") && details.contains("Generated: 16 tokens"), details);
        assertEquals(details, fx(() -> app.view().chatView().messagesBox().lookupAll(".message-footer").stream()
                .map(n -> ((Label) n).getTooltip()).filter(t -> t != null).reduce((a, b) -> b).orElseThrow().getText()), "the details on hover");

        // a long follow-up, stopped with Esc while it is being written
        run(() -> app.settings().maxNewTokensProperty().set(400));
        robot.clickOn(".question").write("Describe it.").type(KeyCode.ENTER);
        await("the follow-up to stream", 60, () -> {
            List<ChatMessage> m = app.viewModel().chat().messages();
            return m.size() == 4 && m.get(3).text().length() > 10;
        });
        robot.type(KeyCode.ESCAPE);
        long stopAt = System.nanoTime();
        await("stop", 10, () -> !app.viewModel().chat().answeringProperty().get());
        double stopSeconds = (System.nanoTime() - stopAt) / 1e9;
        ChatMessage stopped = lastMessage();
        assertEquals("CANCELLED", stopped.finish());
        assertTrue(stopped.stats().generatedTokens() < 400, "stopped early: " + stopped.stats());
        assertFalse(fx(stopped::text).isEmpty(), "what was shown stays");
        assertTrue(stopSeconds < 3, "Stop took " + stopSeconds + " s");

        // restart: a new app on the same data folder lists the conversation and reopens it
        ui.close(app);
        app = null;
        app = ui.open(paths);
        await("the saved conversation in the sidebar", 20, () -> app.viewModel().chat().conversations().size() == 1);
        SavedConversation saved = fx(() -> app.viewModel().chat().conversations().get(0));
        assertEquals(UiSupport.QUESTION, saved.title());
        assertEquals(4, saved.messages().size());
        assertEquals(UiSupport.CLI_ANSWER, saved.messages().get(1).text());
        assertEquals("CANCELLED", saved.messages().get(3).finish());
        @SuppressWarnings("unchecked")
        ListView<SavedConversation> list = fx(() -> (ListView<SavedConversation>) app.scene().lookup(".conversation-list"));
        await("the conversation's cell to be shown", 20, () -> robot.lookup(".conversation-list .list-cell").queryAll().stream()
                .anyMatch(n -> n.isVisible() && n instanceof javafx.scene.control.ListCell<?> c && c.getItem() != null));
        robot.clickOn(UiSupport.QUESTION);
        await("the conversation to reopen", 20, () -> app.viewModel().chat().messages().size() == 4
                && app.viewModel().image().originalProperty().get() != null);
        assertEquals(saved.id(), fx(() -> list.getSelectionModel().getSelectedItem().id()));
        assertEquals(300, fx(() -> app.viewModel().image().originalProperty().get().width()));
    }

    @Test
    void closingWhileAnAnswerIsWrittenKeepsWhatWasShownAndThrowsNothing() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        openTinyModelWithWideImage(paths);
        run(() -> app.settings().maxNewTokensProperty().set(400));
        robot.clickOn(".question").write(UiSupport.QUESTION).type(KeyCode.ENTER);
        await("the answer to stream", 60, () -> {
            List<ChatMessage> m = app.viewModel().chat().messages();
            return m.size() == 2 && m.get(1).text().length() > 10;
        });
        DesktopApp closing = app;
        ui.close(closing);
        app = null;
        // the stopped answer ends a moment later through the FX queue, after the I/O thread has stopped:
        // that must not throw there (UiFixture fails the test on any exception that reaches the FX thread)
        await("the stopped answer's end", 20, () -> !closing.viewModel().chat().answeringProperty().get());
        WaitForAsyncUtils.waitForFxEvents();

        app = ui.open(paths);
        await("the saved conversation", 20, () -> app.viewModel().chat().conversations().size() == 1);
        SavedConversation saved = fx(() -> app.viewModel().chat().conversations().get(0));
        assertEquals(2, saved.messages().size());
        assertFalse(saved.messages().get(1).text().isEmpty(), "what was shown is kept");
        assertEquals("STREAMING", saved.messages().get(1).finish(), "saved as cut off by the close (shown as interrupted)");
    }

    @Test
    void aQuestionTypedThenPausedOnIsReadAheadAndAnsweredTheSame() throws Exception {
        openTinyModelWithWideImage(AppPaths.under(tmp));
        List<String> status = new CopyOnWriteArrayList<>();
        run(() -> {
            Label state = (Label) app.scene().lookup(".status-bar .label");
            state.textProperty().addListener((o, a, t) -> status.add(t));
        });

        robot.clickOn(".question").write(UiSupport.QUESTION);
        await("the question to be read while typing paused", 30, () -> status.contains("Reading your question\u2026")
                && app.viewModel().chat().stateProperty().get() == SessionState.READY);
        robot.type(KeyCode.ENTER);
        await("the answer", 60, () -> app.viewModel().chat().messages().size() == 2
                && !app.viewModel().chat().answeringProperty().get());
        ChatMessage answer = lastMessage();
        assertEquals(UiSupport.CLI_ANSWER, fx(answer::text), "the same answer as without reading ahead");
        SavedConversation.Stats stats = answer.stats();
        assertTrue(stats.promptTokens() - stats.readyPromptTokens() <= 6, "only \" ASSISTANT:\" was left to read: " + stats);
        String details = fx(() -> answer.footerDetailsProperty().get());
        assertTrue(details.contains(stats.readyPromptTokens() + " of " + stats.promptTokens() + " prompt tokens were ready"), details);
    }

    @Test
    void withoutAModelAPastedScreenshotShowsThe1536Canvas() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, null, 16);
        app = ui.open(paths);
        assertEquals(SessionState.NO_MODEL, fx(() -> app.viewModel().chat().stateProperty().get()));
        assertEquals("No model \u00b7 image preview only", fx(() -> ((Label) app.scene().lookup(".status-bar .label")).getText()));

        run(() -> {
            ClipboardContent c = new ClipboardContent();
            c.putImage(new Image(UiSupport.wide().toUri().toString()));
            Clipboard.getSystemClipboard().setContent(c);
        });
        robot.clickOn(".question");
        robot.push(KeyCode.CONTROL, KeyCode.V);
        await("the pasted image", 20, () -> app.viewModel().image().preprocessedProperty().get() != null);
        assertEquals("pasted image", fx(() -> app.viewModel().image().sourceNameProperty().get()));
        assertEquals("1536 x 1536 canvas - 24 x 24 = 576 visual tokens - image occupies 1536 x 1024", readout());
        assertEquals("", fx(() -> app.viewModel().chat().inputProperty().get()), "the image did not paste into the question box");

        // asking without a model says what to do, inline
        robot.clickOn(".question").write("hello").type(KeyCode.ENTER);
        assertTrue(fx(() -> app.viewModel().chat().errorProperty().get()).startsWith("No model is loaded"));

        // an unreadable drop is an inline message, the image stays
        java.nio.file.Path bad = tmp.resolve("broken.png");
        java.nio.file.Files.writeString(bad, "not a png");
        fx(() -> app.view().handleTransfer(TransferData.ofFiles(bad.toFile())));
        await("the inline image message", 10, () -> app.viewModel().image().messageProperty().get() != null);
        assertTrue(fx(() -> ((Label) app.scene().lookup(".preview-pane .inline-error .label")).getText()).contains("broken.png"));
        assertEquals(300, fx(() -> app.viewModel().image().originalProperty().get().width()));
    }

    @Test
    void aDroppedPdfIsBrowsedPageByPage() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, null, 16);
        app = ui.open(paths);
        assertFalse(fx(() -> app.scene().lookup(".page-box").isVisible()), "no page controls for an image");
        // three blank pages: portrait, landscape, square
        java.nio.file.Path pdf = tmp.resolve("scan.pdf");
        try (org.apache.pdfbox.pdmodel.PDDocument doc = new org.apache.pdfbox.pdmodel.PDDocument()) {
            for (float[] size : new float[][] {{600, 800}, {800, 600}, {700, 700}}) {
                doc.addPage(new org.apache.pdfbox.pdmodel.PDPage(new org.apache.pdfbox.pdmodel.common.PDRectangle(size[0], size[1])));
            }
            doc.save(pdf.toFile());
        }
        fx(() -> app.view().handleTransfer(TransferData.ofFiles(pdf.toFile())));
        await("page 1", 20, () -> app.viewModel().image().preprocessedProperty().get() != null && !app.viewModel().image().busyProperty().get());
        javafx.scene.control.TextField page = fx(() -> (javafx.scene.control.TextField) app.scene().lookup(".page-field"));
        assertTrue(fx(() -> app.scene().lookup(".page-box").isVisible()));
        assertEquals("1", fx(page::getText));
        assertTrue(fx(() -> app.scene().lookup(".page-box").lookupAll(".label").stream().anyMatch(n -> "of 3".equals(((Label) n).getText()))));
        assertEquals(2048, (int) fx(() -> app.viewModel().image().originalProperty().get().height()));
        List<Node> buttons = fx(() -> List.copyOf(app.scene().lookup(".page-box").lookupAll(".button")));
        assertTrue(fx(() -> buttons.get(0).isDisabled()), "no page before the first");

        robot.clickOn(buttons.get(1));
        await("page 2", 20, () -> "2".equals(page.getText()) && app.viewModel().image().pageProperty().get() == 2
                && !app.viewModel().image().busyProperty().get());
        assertEquals(2048, (int) fx(() -> app.viewModel().image().originalProperty().get().width()), "the landscape page");
        robot.push(KeyCode.CONTROL, KeyCode.PAGE_DOWN);
        await("page 3", 20, () -> "3".equals(page.getText()) && !app.viewModel().image().busyProperty().get());
        assertTrue(fx(() -> buttons.get(1).isDisabled()), "no page after the last");
        assertEquals("2048 x 2048", fx(() -> app.viewModel().image().originalProperty().get().width() + " x "
                + app.viewModel().image().originalProperty().get().height()));
        robot.clickOn(buttons.get(0));
        await("back to page 2", 20, () -> app.viewModel().image().pageProperty().get() == 2 && !app.viewModel().image().busyProperty().get());

        // a page typed in: the first one, and a number past the end goes to the last page
        robot.doubleClickOn(page).write("1").type(KeyCode.ENTER);
        await("page 1 typed", 20, () -> app.viewModel().image().pageProperty().get() == 1 && !app.viewModel().image().busyProperty().get());
        robot.doubleClickOn(page).write("99").type(KeyCode.ENTER);
        await("page 99 is the last", 20, () -> app.viewModel().image().pageProperty().get() == 3 && "3".equals(page.getText()));
    }
}
