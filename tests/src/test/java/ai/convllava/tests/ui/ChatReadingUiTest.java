package ai.convllava.tests.ui;

import ai.convllava.app.gui.AppPaths;
import ai.convllava.app.gui.FakeVisionChatSession;
import ai.convllava.app.gui.chat.MarkdownText;
import ai.convllava.app.gui.settings.Theme;
import ai.convllava.model.api.FinishReason;
import javafx.geometry.Bounds;
import javafx.geometry.Point2D;
import javafx.scene.Node;
import javafx.scene.input.Clipboard;
import javafx.scene.layout.GridPane;
import javafx.scene.text.TextAlignment;
import javafx.scene.text.TextFlow;
import javafx.scene.control.Label;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.TextArea;
import javafx.scene.input.KeyCode;
import javafx.scene.layout.VBox;
import javafx.scene.paint.Color;
import javafx.scene.text.Text;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static ai.convllava.tests.ui.UiSupport.await;
import static ai.convllava.tests.ui.UiSupport.fx;
import static ai.convllava.tests.ui.UiSupport.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reading the chat, on the real app with a scripted session (answers streamed step by step by the
 * test): the chat follows a streaming answer unless the reader scrolled up, then offers the latest;
 * a new question is scrolled to; the dark theme's placeholder can be read.
 */
class ChatReadingUiTest extends AppUiTest {
    private FakeVisionChatSession session;

    /** The app on the scripted session, its (fake) model loaded. */
    private void openWithModel() throws Exception {
        AppPaths paths = AppPaths.under(tmp);
        UiSupport.writeSettings(paths, tmp.resolve("model"), 512);
        session = new FakeVisionChatSession();
        app = ui.open(paths, session);
        await("the model load to start", 10, () -> !session.loadHandles.isEmpty());
        session.completeLoad();
        await("the model", 10, () -> app.viewModel().model().infoProperty().get() != null);
    }

    private ScrollPane scroll() {
        return fx(() -> (ScrollPane) app.scene().lookup(".messages-scroll"));
    }

    private VBox messages() {
        return fx(() -> app.view().chatView().messagesBox());
    }

    private boolean atBottom(ScrollPane s) {
        return fx(() -> s.getVvalue() >= s.getVmax() - 1e-9);
    }

    private Node jump() {
        return fx(() -> app.scene().lookup(".jump-to-latest"));
    }

    /** Streams paragraphs into the answer and waits until the chat has laid them out. */
    private void streamParagraphs(FakeVisionChatSession.Ask ask, int from, int to) {
        for (int i = from; i < to; i++) {
            String p = "Paragraph " + i + " of a long answer, long enough to wrap on a narrow chat pane.";
            double before = fx(() -> messages().getHeight());
            ask.stream(p + "\n\n");
            await("paragraph " + i + " laid out", 10, () -> app.viewModel().chat().messages().get(app.viewModel().chat().messages().size() - 1)
                    .text().contains(p) && messages().getHeight() > before);
        }
    }

    @Test
    void theChatFollowsTheAnswerUnlessScrolledUpAndScrollsToANewQuestion() throws Exception {
        openWithModel();
        ScrollPane scroll = scroll();
        robot.clickOn(".question").write("Describe the chart.").type(KeyCode.ENTER);
        await("the question to be asked", 10, () -> session.asks.size() == 1);
        FakeVisionChatSession.Ask ask = session.lastAsk();

        streamParagraphs(ask, 0, 30);
        assertTrue(fx(() -> messages().getHeight() > scroll.getViewportBounds().getHeight() * 2), "the answer is taller than the chat pane");
        assertTrue(atBottom(scroll), "the chat followed the answer: vvalue " + fx(scroll::getVvalue));
        assertFalse(fx(() -> jump().isVisible()), "no jump button while following");

        // the reader scrolls up: the answer goes on growing below, the view stays where it was
        scrollUp();
        assertTrue(fx(() -> jump().isVisible()), "a jump-to-latest button once scrolled up");
        double top = fx(() -> scrolledTop(scroll));
        streamParagraphs(ask, 30, 35);
        assertFalse(atBottom(scroll), "not pulled down while reading above");
        assertEquals(top, fx(() -> scrolledTop(scroll)), 1.0, "the text being read did not move");

        // the button jumps to the latest text, and the chat follows again
        robot.clickOn(".jump-to-latest");
        await("the jump", 10, () -> atBottom(scroll));
        assertFalse(fx(() -> jump().isVisible()));
        streamParagraphs(ask, 35, 40);
        assertTrue(atBottom(scroll), "following again: vvalue " + fx(scroll::getVvalue));
        ask.finish(app.viewModel().chat().lastAnswer(), FinishReason.EOS);
        await("the answer to end", 10, () -> !app.viewModel().chat().answeringProperty().get());

        // scrolled up, a new question is scrolled to
        scrollUp();
        robot.clickOn(".question").write("And the smallest bar?").type(KeyCode.ENTER);
        await("the second question", 10, () -> session.asks.size() == 2 && messages().getChildren().size() == 4);
        await("the new question in view", 10, () -> atBottom(scroll));
        assertFalse(fx(() -> jump().isVisible()));
    }

    @Test
    void anAnswersMarkdownIsShownAndPartOfItCanBeSelectedAndCopied() throws Exception {
        openWithModel();
        robot.clickOn(".question").write("What are the bars?").type(KeyCode.ENTER);
        await("the question to be asked", 10, () -> session.asks.size() == 1);
        String md = "The **total** is `42`:\n\n- first *item*\n- second item\n\n| Bar | Height |\n|---|---:|\n| red | 3 |\n| blue | 5 |\n\n"
                + "```\nint x = 1;\n```\n";
        session.lastAsk().stream(md);
        session.lastAsk().finish(md, FinishReason.EOS);
        await("the answer", 10, () -> !app.viewModel().chat().answeringProperty().get());

        MarkdownText answer = fx(() -> MarkdownText.of(app.scene().lookup(".markdown")));
        assertEquals("The total is 42:\nfirst item\nsecond item\nBar\tHeight\nred\t3\nblue\t5\nint x = 1;", fx(answer::shownText),
                "the text without the Markdown syntax");
        assertTrue(fx(() -> text("total").getFont().getStyle()).contains("Bold"), "bold: " + fx(() -> text("total").getFont()));
        assertTrue(fx(() -> text("item").getFont().getStyle()).contains("Italic"), "italic: " + fx(() -> text("item").getFont()));
        assertEquals("Monospaced", fx(() -> text("42").getFont().getFamily()), "a code span");
        assertEquals("Monospaced", fx(() -> text("int x = 1;").getFont().getFamily()), "a code block");
        assertEquals(2, fx(() -> app.scene().getRoot().lookupAll(".md-list-marker").size()), "two list items");
        GridPane table = fx(() -> (GridPane) app.scene().lookup(".md-table"));
        assertEquals(6, fx(() -> table.getChildren().size()), "a 3 x 2 table");
        assertEquals(TextAlignment.RIGHT, fx(() -> ((TextFlow) text("5").getParent()).getTextAlignment()), "---: aligns right");

        // drag over part of the first paragraph, then Ctrl+C
        Text total = fx(() -> text("total"));
        Text code = fx(() -> text("42"));
        Bounds from = fx(() -> total.localToScreen(total.getLayoutBounds()));
        Bounds to = fx(() -> code.localToScreen(code.getLayoutBounds()));
        robot.drag(new Point2D(from.getMinX() + 1, from.getCenterY())).dropTo(new Point2D(to.getMaxX() - 1, to.getCenterY()));
        assertEquals("total is 42", fx(answer::selectedText));
        assertTrue(fx(() -> app.scene().getRoot().lookupAll(".md-selection").stream()
                .anyMatch(n -> !((javafx.scene.shape.Path) n).getElements().isEmpty())), "the selection is drawn");
        run(() -> Clipboard.getSystemClipboard().clear());
        robot.push(KeyCode.CONTROL, KeyCode.C);
        assertEquals("total is 42", fx(() -> Clipboard.getSystemClipboard().getString()));

        // the answer's Copy link copies all of it, as written
        robot.clickOn(".copy-answer-link");
        assertEquals(md, fx(() -> Clipboard.getSystemClipboard().getString()));
    }

    /** The one Text of the answer that reads {@code s}. */
    private Text text(String s) {
        return app.scene().getRoot().lookupAll(".md-text").stream().filter(n -> s.equals(((Text) n).getText())).map(n -> (Text) n)
                .findFirst().orElseThrow(() -> new AssertionError("no text \"" + s + "\" in the answer"));
    }

    /** The reader drags the chat's scroll bar up. */
    private void scrollUp() {
        Node thumb = fx(() -> scroll().lookupAll(".scroll-bar").stream()
                .filter(n -> n instanceof javafx.scene.control.ScrollBar b && b.getOrientation() == javafx.geometry.Orientation.VERTICAL)
                .findFirst().orElseThrow().lookup(".thumb"));
        robot.drag(thumb).moveBy(0, -150).drop();
        await("the scroll up", 10, () -> !atBottom(scroll()));
    }

    /** How far the content is scrolled, in pixels from its top. */
    private static double scrolledTop(ScrollPane s) {
        double extra = s.getContent().getLayoutBounds().getHeight() - s.getViewportBounds().getHeight();
        return Math.max(0, extra) * (s.getVvalue() - s.getVmin()) / (s.getVmax() - s.getVmin());
    }

    @Test
    void theDarkThemesPlaceholderCanBeRead() throws Exception {
        openWithModel();
        run(() -> app.settings().themeProperty().set(Theme.DARK));
        await("the dark theme's styles", 10, () -> app.scene().lookup(".main-root") instanceof javafx.scene.layout.Region r
                && r.getBackground() != null && Color.web("#16191d").equals(r.getBackground().getFills().get(0).getFill()));
        TextArea question = fx(() -> (TextArea) app.scene().lookup(".question"));
        await("the placeholder", 10, () -> question.lookupAll(".text").stream()
                .anyMatch(n -> n instanceof Text t && question.getPromptText().equals(t.getText()) && t.isVisible()));
        Color fill = fx(() -> (Color) question.lookupAll(".text").stream()
                .filter(n -> n instanceof Text t && question.getPromptText().equals(t.getText())).map(n -> ((Text) n).getFill())
                .findFirst().orElseThrow());
        Color background = Color.web("#1f2328"); // theme-dark.css: -c-surface, the text box's inner background
        double contrast = contrast(fill, background);
        assertTrue(contrast >= 3, "placeholder " + fill + " on " + background + ": contrast " + contrast + " (at least 3 to be read)");
    }

    @Test
    void theImagesFileNameIsShown() throws Exception {
        openWithModel();
        assertFalse(fx(() -> app.scene().lookup(".image-name").isVisible()), "no name without an image");
        assertTrue(fx(() -> app.view().handleTransfer(ai.convllava.app.gui.image.TransferData.ofFiles(UiSupport.wide().toFile()))));
        await("the image", 10, () -> app.viewModel().image().originalProperty().get() != null);
        Label name = fx(() -> (Label) app.scene().lookup(".image-name"));
        assertEquals("wide.png", fx(name::getText));
        assertTrue(fx(name::isVisible));
        assertEquals(UiSupport.wide().toAbsolutePath().toString(), fx(() -> name.getTooltip().getText()), "the whole path on hover");
    }

    /** WCAG contrast ratio of two colours. */
    private static double contrast(Color a, Color b) {
        double la = luminance(a);
        double lb = luminance(b);
        return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
    }

    private static double luminance(Color c) {
        return 0.2126 * lin(c.getRed()) + 0.7152 * lin(c.getGreen()) + 0.0722 * lin(c.getBlue());
    }

    private static double lin(double v) {
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    }
}
