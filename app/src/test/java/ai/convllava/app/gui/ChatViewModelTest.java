package ai.convllava.app.gui;

import ai.convllava.model.api.Stage;
import ai.convllava.model.api.Turn;
import ai.convllava.app.gui.conversation.ChatMessage;
import ai.convllava.app.gui.chat.ChatViewModel;
import ai.convllava.app.gui.store.SavedConversation;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.SessionState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatViewModelTest {
    @TempDir
    Path tmp;

    private ChatViewModel send(Harness h, String q) {
        ChatViewModel chat = h.vm.chat();
        chat.inputProperty().set(q);
        chat.send();
        return chat;
    }

    @Test
    void sendStreamsDeltasBatchedPerPulseThenFinishes() throws Exception {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = send(h, "What is the tallest bar?");
        assertSame(chat.messages(), chat.messages(), "one list for views to listen to (a new wrapper would drop their listeners)");
        assertEquals(SessionState.GENERATING, chat.stateProperty().get());
        assertEquals("", chat.inputProperty().get());
        FakeVisionChatSession.Ask ask = h.service.lastAsk();
        assertEquals(List.of(Turn.pending("What is the tallest bar?")), ask.request().turns());
        assertNull(ask.request().systemPrompt(), "the default system prompt is sent as null, like the CLI");

        Thread producer = new Thread(() -> {
            ask.listener().onStage(Stage.WRITING_ANSWER, -1);
            for (int i = 0; i < 200; i++) {
                ask.listener().onText("t" + i + " ");
            }
        });
        producer.start();
        producer.join();
        assertEquals(1, h.ui.pending(), "201 events from the inference thread make one UI update");
        h.ui.runAll();
        ChatMessage answer = chat.messages().get(1);
        assertTrue(answer.text().startsWith("t0 t1 t2 ") && answer.text().endsWith("t199 "), answer.text());
        assertTrue(answer.streamingProperty().get());
        assertEquals("Writing answer (200 tokens)", chat.stageProperty().get());

        ask.finish("the final text", FinishReason.EOS);
        h.ui.runAll();
        assertEquals("the final text", answer.text());
        assertFalse(answer.streamingProperty().get());
        assertEquals("first words after 1.50 s \u00b7 3 tokens at 10.0 a second \u00b7 76% already read", answer.footerProperty().get(),
                "plain words under the answer: no prompt tokens, visual tokens or cache");
        String details = answer.footerDetailsProperty().get();
        assertTrue(details.contains("Time to first token: 1.50 s"), details);
        assertTrue(details.contains("10.0 tokens/s"), details);
        assertTrue(details.contains("Prompt: 66 tokens (16 visual)"), details);
        assertTrue(details.contains("50 of 66 prompt tokens were ready"), details);
        assertEquals(50, chat.current().orElseThrow().messages().get(1).stats().readyPromptTokens(), "saved with the answer");
        assertEquals(SessionState.READY, chat.stateProperty().get());
        assertFalse(chat.answeringProperty().get());
        assertTrue(chat.canRegenerateProperty().get());
    }

    @Test
    void stopCancelsAtOnceAndKeepsWhatWasShown() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = send(h, "q");
        FakeVisionChatSession.Ask ask = h.service.lastAsk();
        ask.stream("partial ", "answer");
        h.ui.runAll();
        assertTrue(chat.canStopProperty().get());
        chat.stop();
        assertTrue(ask.handle().isCancelled());
        ask.handle().result().complete(FakeVisionChatSession.result("", FinishReason.CANCELLED));
        h.ui.runAll();
        ChatMessage answer = chat.messages().get(1);
        assertEquals("partial answer", answer.text());
        assertEquals("CANCELLED", answer.finish());
        assertTrue(answer.footerProperty().get().endsWith("stopped"), answer.footerProperty().get());
        assertFalse(chat.canStopProperty().get());
    }

    @Test
    void followUpSendsEveryTurnAndRegenerateReplacesTheLastAnswer() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = send(h, "first");
        h.service.lastAsk().finish("answer one", FinishReason.EOS);
        h.ui.runAll();
        send(h, "second");
        assertEquals(List.of(new Turn("first", "answer one"), Turn.pending("second")),
                h.service.lastAsk().request().turns());
        h.service.lastAsk().finish("answer two", FinishReason.EOS);
        h.ui.runAll();
        assertEquals(4, chat.messages().size());

        chat.regenerate();
        assertEquals(4, chat.messages().size(), "the old answer is replaced by the new, streaming one");
        assertEquals(List.of(new Turn("first", "answer one"), Turn.pending("second")),
                h.service.lastAsk().request().turns());
        h.service.lastAsk().finish("answer two again", FinishReason.LENGTH);
        h.ui.runAll();
        assertEquals("answer two again", chat.messages().get(3).text());
        assertEquals("answer two again", chat.lastAnswer());
        assertEquals(3, h.service.asks.size());
    }

    @Test
    void regenerateAtTemperatureZeroSamplesAnotherAnswerAndSaysSo() {
        Harness h = new Harness(tmp).withModel();
        assertEquals(0.0, h.settings.temperatureProperty().get(), "greedy by default");
        ChatViewModel chat = send(h, "q");
        assertEquals(0.0, h.service.lastAsk().request().generation().temperature());
        h.service.lastAsk().finish("the greedy answer", FinishReason.EOS);
        h.ui.runAll();
        assertTrue(chat.regenerateHintProperty().get().contains("sampled at temperature 0.7"), chat.regenerateHintProperty().get());
        assertNull(chat.noticeProperty().get());

        chat.regenerate();
        ai.convllava.model.api.GenerationConfig g = h.service.lastAsk().request().generation();
        assertEquals(ChatViewModel.REGENERATE_TEMPERATURE, g.temperature(), "greedy again would be the same answer");
        assertNull(g.seed(), "a fresh seed each time");
        assertTrue(chat.noticeProperty().get().startsWith("Temperature is 0 in Settings"), chat.noticeProperty().get());
        assertEquals(0.0, h.settings.temperatureProperty().get(), "the settings stay");
        h.service.lastAsk().finish("a sampled answer", FinishReason.EOS);
        h.ui.runAll();

        send(h, "next");
        assertEquals(0.0, h.service.lastAsk().request().generation().temperature(), "a new question is greedy again");
        assertNull(chat.noticeProperty().get(), "the notice was about the regenerated answer");

        h.settings.temperatureProperty().set(0.9);
        h.service.lastAsk().finish("x", FinishReason.EOS);
        h.ui.runAll();
        chat.regenerate();
        assertEquals(0.9, h.service.lastAsk().request().generation().temperature(), "a sampling temperature is used as set");
        assertNull(chat.noticeProperty().get());
    }

    @Test
    void clearStartsANewConversation() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = send(h, "q");
        h.service.lastAsk().finish("a", FinishReason.EOS);
        h.ui.runAll();
        String id = chat.conversationIdProperty().get();
        assertNotNull(id);
        chat.clear();
        assertTrue(chat.messages().isEmpty());
        assertNull(chat.conversationIdProperty().get());
        assertEquals(1, h.service.newConversations);
        assertEquals(1, chat.conversations().size(), "the old conversation stays in the sidebar");
    }

    @Test
    void failuresBecomeInlineErrorsNotExceptions() {
        Harness h = new Harness(tmp);
        ChatViewModel chat = send(h, "q");
        assertTrue(chat.errorProperty().get().startsWith("No model is loaded"), chat.errorProperty().get());
        assertTrue(h.service.asks.isEmpty());
        assertEquals("q", chat.inputProperty().get(), "the question is kept");

        h.withModel();
        h.settings.topPProperty().set(0);
        chat.send();
        assertTrue(chat.errorProperty().get().contains("top-p must be in (0, 1]"), chat.errorProperty().get());
        h.settings.topPProperty().set(1);

        chat.send();
        assertNull(chat.errorProperty().get());
        h.service.lastAsk().handle().result().completeExceptionally(new IllegalStateException("boom"));
        h.ui.runAll();
        ChatMessage answer = chat.messages().get(1);
        assertEquals("IllegalStateException: boom", answer.errorProperty().get());
        assertEquals("ERROR", answer.finish());
        assertEquals(SessionState.READY, chat.stateProperty().get());
    }

    @Test
    void conversationsRoundTripThroughTheStoreWithAPastedImageCopy() throws Exception {
        Harness h = new Harness(tmp).withModel();
        h.vm.setImage(RgbImage.filled(30, 20, 200, 10, 10), "pasted image");
        h.ui.runAll();
        ChatViewModel chat = send(h, "what colour?");
        h.service.lastAsk().finish("red", FinishReason.EOS);
        h.ui.runAll();
        String id = chat.conversationIdProperty().get();
        assertTrue(Files.isRegularFile(h.paths.imagesDir().resolve(id + ".png")));

        Harness again = new Harness(tmp).withModel();
        again.vm.chat().reloadConversations();
        again.ui.runAll();
        List<SavedConversation> listed = again.vm.chat().conversations();
        assertEquals(1, listed.size());
        assertEquals("what colour?", listed.get(0).title());
        again.vm.chat().open(listed.get(0));
        again.ui.runAll();
        assertEquals(2, again.vm.chat().messages().size());
        assertEquals("red", again.vm.chat().messages().get(1).text());
        assertEquals(30, again.vm.image().originalProperty().get().width(), "the copy of the pasted image is reopened");

        again.vm.chat().inputProperty().set("sure?");
        again.vm.chat().send();
        assertEquals(List.of(new Turn("what colour?", "red"), Turn.pending("sure?")),
                again.service.lastAsk().request().turns());
    }

    @Test
    void aConversationAboutAPdfPageReopensOnThatPage() throws Exception {
        Harness h = new Harness(tmp).withModel();
        h.vm.openImage(ai.convllava.app.TestPdfs.twoPages(tmp));
        h.ui.runAll();
        h.vm.image().nextPage();
        h.ui.runAll();
        assertEquals(2, h.vm.image().pageProperty().get());
        ChatViewModel chat = send(h, "which bar is taller?");
        h.service.lastAsk().finish("the red one", FinishReason.EOS);
        h.ui.runAll();
        String id = chat.conversationIdProperty().get();
        assertTrue(Files.isRegularFile(h.paths.imagesDir().resolve(id + ".png")), "the page is kept as a copy");

        Harness again = new Harness(tmp).withModel();
        again.vm.chat().reloadConversations();
        again.ui.runAll();
        again.vm.chat().open(again.vm.chat().conversations().get(0));
        again.ui.runAll();
        assertEquals(2048, again.vm.image().originalProperty().get().width(), "page 2 (landscape), not the PDF's first page");
        assertEquals(1280, again.vm.image().originalProperty().get().height());
    }

    @Test
    void reopeningAConversationRestoresTheSettingsItWasWrittenWith() {
        Harness h = new Harness(tmp).withModel();
        h.settings.temperatureProperty().set(0.7);
        h.settings.topPProperty().set(0.9);
        h.settings.topKProperty().set(40);
        h.settings.repetitionPenaltyProperty().set(1.1);
        h.settings.maxNewTokensProperty().set(300);
        h.settings.seedProperty().set(7);
        h.settings.systemPromptProperty().set("Answer in one word.");
        h.vm.setImage(RgbImage.filled(30, 20, 200, 10, 10), "pasted image");
        h.ui.runAll();
        send(h, "what colour?");
        h.service.lastAsk().finish("red", FinishReason.EOS);
        h.ui.runAll();

        Harness again = new Harness(tmp).withModel(); // default settings: greedy, 512 tokens, ConvLLaVA's system prompt
        again.vm.chat().reloadConversations();
        again.ui.runAll();
        again.vm.chat().open(again.vm.chat().conversations().get(0));
        again.ui.runAll();
        assertEquals(0.7, again.settings.temperatureProperty().get());
        assertEquals(0.9, again.settings.topPProperty().get());
        assertEquals(40, again.settings.topKProperty().get());
        assertEquals(1.1, again.settings.repetitionPenaltyProperty().get());
        assertEquals(300, again.settings.maxNewTokensProperty().get());
        assertEquals(7, again.settings.seedProperty().get());
        again.vm.chat().inputProperty().set("sure?");
        again.vm.chat().send();
        ChatRequest r = again.service.lastAsk().request();
        assertEquals("Answer in one word.", r.systemPrompt(), "the follow-up continues with the conversation's system prompt");
        assertEquals(0.7, r.generation().temperature());
        assertEquals(300, r.generation().maxNewTokens());
        assertEquals(7L, r.generation().seed());
    }

    @Test
    void savedSettingsOutOfRangeAreNotRestored() throws Exception {
        Harness h = new Harness(tmp).withModel();
        send(h, "q");
        h.service.lastAsk().finish("a", FinishReason.EOS);
        h.ui.runAll();
        SavedConversation c = h.store.list().get(0);
        SavedConversation.Generation bad = new SavedConversation.Generation(-3, 0.5, 5, 1.0, 100, 1, "x"); // temperature edited to -3
        SavedConversation edited = new SavedConversation(c.id(), c.title(), c.createdAt(), c.updatedAt(), c.imagePath(), c.imageCopy(),
                c.canvasMode(), bad, c.messages());
        Harness again = new Harness(tmp).withModel();
        again.vm.chat().open(edited);
        again.ui.runAll();
        assertEquals(2, again.vm.chat().messages().size(), "the conversation still opens");
        assertEquals(0.0, again.settings.temperatureProperty().get());
        assertEquals(1.0, again.settings.topPProperty().get(), "nothing of the bad set is taken");
        assertEquals(512, again.settings.maxNewTokensProperty().get());
    }

    @Test
    void partialAnswerIsSavedWhileStreaming() {
        Harness h = new Harness(tmp).withModel();
        send(h, "q");
        FakeVisionChatSession.Ask ask = h.service.lastAsk();
        ask.stream("half an ");
        h.ui.runAll();
        h.clock.addAndGet(ChatViewModel.SAVE_INTERVAL_MS + 1);
        ask.stream("answer");
        h.ui.runAll();
        SavedConversation saved = h.store.list().get(0);
        assertEquals("half an answer", saved.messages().get(1).text());
        assertEquals("STREAMING", saved.messages().get(1).finish());
    }

    @Test
    void deleteRemovesTheFileAndTheListEntry() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = send(h, "q");
        h.service.lastAsk().finish("a", FinishReason.EOS);
        h.ui.runAll();
        SavedConversation c = chat.conversations().get(0);
        chat.delete(c);
        h.ui.runAll();
        assertTrue(chat.conversations().isEmpty());
        assertTrue(h.store.list().isEmpty());
        assertTrue(chat.messages().isEmpty(), "deleting the open conversation starts a new chat");
    }

    /** A finished one-question conversation about {@code image} (a fixture), opened and saved. */
    private SavedConversation conversationAbout(Harness h, String image, String question) {
        h.vm.openImage(Harness.fixture("tiny/images/" + image));
        h.ui.runAll();
        ChatViewModel chat = send(h, question);
        h.service.lastAsk().finish("an answer", FinishReason.EOS);
        h.ui.runAll();
        return chat.conversations().get(0);
    }

    @Test
    void deletingTheOpenConversationOpensTheNextWithItsImageAndTheLastLeavesNoImage() {
        Harness h = new Harness(tmp).withModel();
        SavedConversation wide = conversationAbout(h, "wide.png", "about wide");
        SavedConversation tall = conversationAbout(h, "tall.png", "about tall");
        ChatViewModel chat = h.vm.chat();
        assertEquals(List.of(tall.id(), wide.id()), chat.conversations().stream().map(SavedConversation::id).toList());
        assertEquals(tall.id(), chat.conversationIdProperty().get());

        chat.delete(tall);
        h.ui.runAll();
        assertEquals(wide.id(), chat.conversationIdProperty().get(), "the one below opens");
        assertEquals(Harness.fixture("tiny/images/wide.png"), h.vm.image().sourcePathProperty().get(), "with its image, not the deleted one's");
        assertEquals("about wide", chat.messages().get(0).text());

        chat.delete(wide);
        h.ui.runAll();
        assertNull(chat.conversationIdProperty().get());
        assertTrue(chat.messages().isEmpty());
        assertNull(h.vm.image().originalProperty().get(), "no conversation left: no image of a deleted one");
        assertNull(h.vm.image().sourcePathProperty().get());
    }

    @Test
    void undoBringsTheDeletedConversationAndItsPastedImageBackAndOpensIt() {
        Harness h = new Harness(tmp).withModel();
        h.vm.setImage(RgbImage.filled(4, 3, 200, 30, 30), "pasted image");
        h.ui.runAll();
        ChatViewModel chat = send(h, "what colour?");
        h.service.lastAsk().finish("four", FinishReason.EOS);
        h.ui.runAll();
        SavedConversation pasted = chat.conversations().get(0);
        assertNotNull(pasted.imageCopy());
        Path copy = h.store.imagesDir().resolve(pasted.imageCopy());
        assertTrue(Files.isRegularFile(copy));

        chat.delete(pasted);
        h.ui.runAll();
        assertTrue(h.store.list().isEmpty(), "gone from the conversations");
        assertFalse(Files.exists(copy), "its image copy too");
        assertEquals(pasted, chat.deletedProperty().get(), "an undo is offered");

        chat.undoDelete();
        h.ui.runAll();
        assertNull(chat.deletedProperty().get());
        assertEquals(List.of(pasted.id()), h.store.list().stream().map(SavedConversation::id).toList());
        assertEquals(List.of(pasted.id()), chat.conversations().stream().map(SavedConversation::id).toList());
        assertTrue(Files.isRegularFile(copy), "the image copy is back");
        assertEquals(pasted.id(), chat.conversationIdProperty().get(), "and the conversation is open again");
        assertEquals(2, chat.messages().size());
        assertEquals(copy, h.vm.image().sourcePathProperty().get());
    }

    /** A finished conversation about a pasted image (kept as a copy in the images folder). */
    private SavedConversation pastedConversation(Harness h) {
        h.vm.setImage(RgbImage.filled(4, 3, 200, 30, 30), "pasted image");
        h.ui.runAll();
        ChatViewModel chat = send(h, "what colour?");
        h.service.lastAsk().finish("four", FinishReason.EOS);
        h.ui.runAll();
        return chat.conversations().get(0);
    }

    /** A non-empty folder where {@code file} would be moved to: a move onto it fails, even as root. */
    private static void block(Path file) throws Exception {
        Files.createDirectories(file);
        Files.write(file.resolve("x"), new byte[] {1});
    }

    @Test
    void aDeleteThatFailsKeepsTheConversationListedAndOutOfTheTrash() throws Exception {
        Harness h = new Harness(tmp).withModel();
        SavedConversation pasted = pastedConversation(h);
        ChatViewModel chat = h.vm.chat();
        Path trash = h.paths.conversationsDir().resolve("trash");
        block(trash.resolve(pasted.imageCopy())); // the image copy cannot be moved to the trash

        chat.delete(pasted);
        h.ui.runAll();
        assertTrue(chat.errorProperty().get().startsWith("Could not delete what colour?"), chat.errorProperty().get());
        assertNull(chat.deletedProperty().get(), "nothing was deleted: no undo");
        assertEquals(List.of(pasted.id()), chat.conversations().stream().map(SavedConversation::id).toList(), "still listed");
        assertEquals(List.of(pasted.id()), h.store.list().stream().map(SavedConversation::id).toList(), "its file is where it was");
        assertFalse(Files.exists(trash.resolve(pasted.id() + ".json")), "not in the trash the next start empties");
        assertTrue(Files.isRegularFile(h.store.imagesDir().resolve(pasted.imageCopy())));
    }

    @Test
    void anUndoThatFailsKeepsTheUndoOfferedAndCanBeRetried() throws Exception {
        Harness h = new Harness(tmp).withModel();
        SavedConversation pasted = pastedConversation(h);
        ChatViewModel chat = h.vm.chat();
        chat.delete(pasted);
        h.ui.runAll();
        Path copy = h.store.imagesDir().resolve(pasted.imageCopy());
        block(copy); // the image copy cannot come back

        chat.undoDelete();
        h.ui.runAll();
        assertTrue(chat.errorProperty().get().startsWith("Could not bring back what colour?"), chat.errorProperty().get());
        assertEquals(pasted, chat.deletedProperty().get(), "still in the trash: the undo is still offered");
        assertTrue(chat.conversations().isEmpty());
        assertTrue(h.store.list().isEmpty(), "not half back");

        Files.delete(copy.resolve("x"));
        Files.delete(copy);
        chat.undoDelete();
        h.ui.runAll();
        assertNull(chat.deletedProperty().get());
        assertEquals(List.of(pasted.id()), h.store.list().stream().map(SavedConversation::id).toList());
        assertTrue(Files.isRegularFile(copy));
    }

    @Test
    void deletingAPastedConversationKeepsItsImageForAnotherConversationAskedAboutIt() throws Exception {
        Harness h = new Harness(tmp).withModel();
        SavedConversation a = pastedConversation(h);
        SavedConversation other = conversationAbout(h, "wide.png", "about wide");
        ChatViewModel chat = h.vm.chat();
        chat.open(a); // its image now opens from the copy, images/<a>.png, as a file
        h.ui.runAll();
        Path copy = h.store.imagesDir().resolve(a.imageCopy());
        assertEquals(copy, h.vm.image().sourcePathProperty().get());
        assertFalse(h.vm.image().pastedProperty().get(), "opened from a file: no copy of its own for the next conversation");
        chat.clear(); // New chat, same image
        send(h, "and now?");
        h.service.lastAsk().finish("still four", FinishReason.EOS);
        h.ui.runAll();
        SavedConversation b = chat.conversations().get(0);
        assertEquals(copy.toAbsolutePath().toString(), b.imagePath(), "b refers to a's copy");

        chat.delete(a);
        h.ui.runAll();
        assertNull(chat.errorProperty().get());
        assertTrue(Files.isRegularFile(copy), "the copy stays while b refers to it");
        chat.open(other);
        h.ui.runAll();
        chat.open(b);
        h.ui.runAll();
        assertNull(h.vm.image().messageProperty().get(), "b's image is not gone");
        assertEquals(copy, h.vm.image().sourcePathProperty().get());

        Harness again = new Harness(tmp);
        again.vm.start(null);
        again.ui.runAll();
        assertTrue(Files.isRegularFile(copy), "nor deleted with the trash at the next start");
    }

    @Test
    void theTrashIsEmptiedAtTheNextStartAndAnUndoThenSaysSo() throws Exception {
        Harness h = new Harness(tmp).withModel();
        SavedConversation c = conversationAbout(h, "wide.png", "q");
        h.vm.chat().delete(c);
        h.ui.runAll();
        Path trashed = h.paths.conversationsDir().resolve("trash").resolve(c.id() + ".json");
        assertTrue(Files.isRegularFile(trashed));

        Harness again = new Harness(tmp);
        again.vm.start(null);
        again.ui.runAll();
        assertFalse(Files.exists(trashed), "emptied at the next start");
        h.vm.chat().undoDelete();
        h.ui.runAll();
        assertTrue(h.vm.chat().errorProperty().get().startsWith("Could not bring back q: the deleted conversation is no longer in"),
                h.vm.chat().errorProperty().get());
        assertTrue(h.vm.chat().conversations().isEmpty());
    }

    @Test
    void exportWritesMarkdownAndJsonWithTheImageBeside() throws Exception {
        Harness h = new Harness(tmp).withModel();
        h.vm.openImage(Harness.fixture("tiny/images/wide.png"));
        h.ui.runAll();
        ChatViewModel chat = send(h, "tallest bar?");
        h.service.lastAsk().finish("the blue one", FinishReason.EOS);
        h.ui.runAll();
        Path out = tmp.resolve("export");
        Files.createDirectories(out);
        chat.export(out.resolve("chart.md")).get();
        chat.export(out.resolve("chart.json")).get();
        String md = Files.readString(out.resolve("chart.md"));
        assertTrue(md.contains("![image](chart.png)"), md);
        assertTrue(md.contains("**You:** tallest bar?"), md);
        assertTrue(md.contains("**ConvLLaVA:** the blue one"), md);
        assertTrue(Files.size(out.resolve("chart.png")) > 0);
        String json = Files.readString(out.resolve("chart.json"));
        assertTrue(json.contains("\"imagePath\" : \"chart.png\""), json);
    }
}
