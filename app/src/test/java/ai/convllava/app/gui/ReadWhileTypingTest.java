package ai.convllava.app.gui;

import ai.convllava.model.api.Turn;
import ai.convllava.app.gui.chat.ChatViewModel;
import ai.convllava.app.gui.main.MainView;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.api.DraftResult;
import ai.convllava.model.api.SessionState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The question is read into the model while it is typed: once typing pauses, never while an answer is
 * written, not when the setting is off. The pause is the harness's manual timer: "elapse" is the user
 * stopping typing for {@link ChatViewModel#DRAFT_DELAY_MS}.
 */
class ReadWhileTypingTest {
    @TempDir
    Path tmp;

    static void type(ChatViewModel chat, String... edits) {
        for (String e : edits) {
            chat.inputProperty().set(e);
        }
    }

    @Test
    void aPauseInTypingReadsTheQuestionSoFarOnce() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = h.vm.chat();
        type(chat, "W", "Wh", "What is", "What is the tallest  ");
        assertTrue(h.service.drafts.isEmpty(), "nothing is read while typing goes on");
        assertEquals(1, h.timer.pending(), "each edit restarts the one pause");
        h.timer.elapse();
        assertEquals(1, h.service.drafts.size());
        FakeVisionChatSession.Draft d = h.service.drafts.get(0);
        assertEquals(List.of(Turn.pending("What is the tallest")), d.request().turns(), "read as it will be sent (stripped)");
        assertNull(d.request().systemPrompt());
        assertTrue(h.service.asks.isEmpty());
    }

    @Test
    void blankInputOrTheSettingOffReadsNothing() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = h.vm.chat();
        type(chat, "x", "   ");
        assertEquals(0, h.timer.pending());
        h.timer.elapse();
        assertTrue(h.service.drafts.isEmpty());

        h.settings.readWhileTypingProperty().set(false);
        type(chat, "What colour is the bar?");
        assertEquals(0, h.timer.pending());
        h.timer.elapse();
        assertTrue(h.service.drafts.isEmpty(), "the setting is off");
        chat.send();
        assertEquals(1, h.service.asks.size(), "sending works the same");
    }

    @Test
    void turningTheSettingOffStopsTheDraftBeingRead() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = h.vm.chat();
        type(chat, "What is");
        h.timer.elapse();
        type(chat, "What is the");
        h.settings.readWhileTypingProperty().set(false);
        assertTrue(h.service.drafts.get(0).handle().isCancelled());
        assertEquals(0, h.timer.pending(), "the pause is dropped");
        h.timer.elapse();
        assertEquals(1, h.service.drafts.size());

        h.settings.readWhileTypingProperty().set(true);
        h.timer.elapse();
        assertEquals("What is the", h.service.drafts.get(1).question(), "on again: the question so far is read");
    }

    @Test
    void sendingDropsThePauseAndTheDraft() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = h.vm.chat();
        type(chat, "What is");
        h.timer.elapse();
        type(chat, "What is the tallest bar?");
        chat.send();
        assertTrue(h.service.drafts.get(0).handle().isCancelled());
        assertEquals(0, h.timer.pending());
        h.timer.elapse();
        assertEquals(1, h.service.drafts.size());
        assertEquals(List.of(Turn.pending("What is the tallest bar?")), h.service.lastAsk().request().turns());
    }

    @Test
    void aFollowUpTypedDuringTheAnswerIsReadAfterItWithTheFirstExchange() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = h.vm.chat();
        type(chat, "first");
        chat.send();
        type(chat, "And the", "And the second?");
        h.timer.elapse();
        assertTrue(h.service.drafts.isEmpty(), "never while an answer is written");
        h.service.lastAsk().finish("answer one", FinishReason.EOS);
        h.ui.runAll();
        h.timer.elapse();
        assertEquals(1, h.service.drafts.size());
        assertEquals(List.of(new Turn("first", "answer one"), Turn.pending("And the second?")), h.service.drafts.get(0).request().turns());
        chat.send();
        assertEquals(h.service.drafts.get(0).request().turns(), h.service.lastAsk().request().turns(), "the draft is what is asked");
    }

    @Test
    void aDraftAlreadyReadIsNotSentAgainUntilTheCacheChanges() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = h.vm.chat();
        type(chat, "What is");
        h.timer.elapse();
        h.service.drafts.get(0).handle().result().complete(DraftResult.read(40, 6));
        h.ui.runAll();
        type(chat, "What is t", "What is");
        h.timer.elapse();
        assertEquals(1, h.service.drafts.size(), "the same question is in the cache already");

        type(chat, "What is the");
        h.timer.elapse();
        h.service.drafts.get(1).handle().result().complete(DraftResult.superseded("a request came first"));
        h.ui.runAll();
        type(chat, "What is the ", "What is the");
        h.timer.elapse();
        assertEquals(3, h.service.drafts.size(), "not read last time: sent again");

        h.service.drafts.get(2).handle().result().complete(DraftResult.read(41, 1));
        h.ui.runAll();
        chat.clear();
        h.timer.elapse();
        assertEquals(4, h.service.drafts.size(), "a new chat forgets the cache: read again");
    }

    @Test
    void aNewImageGetsTheQuestionReadAgainOnceItIsReady() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = h.vm.chat();
        type(chat, "what colour?");
        h.timer.elapse();
        h.service.drafts.get(0).handle().result().complete(DraftResult.read(30, 30));
        h.ui.runAll();
        h.vm.setImage(RgbImage.filled(30, 20, 200, 10, 10), "pasted image");
        h.ui.runAll();
        h.timer.elapse();
        assertEquals(2, h.service.drafts.size());
        assertEquals("what colour?", h.service.drafts.get(1).question());
    }

    @Test
    void withoutAModelNothingIsRead() {
        Harness h = new Harness(tmp);
        type(h.vm.chat(), "what colour?");
        h.timer.elapse();
        assertTrue(h.service.drafts.isEmpty());
    }

    @Test
    void theStatusSaysTheQuestionIsBeingReadAndSendingStaysPossible() {
        Harness h = new Harness(tmp).withModel();
        ChatViewModel chat = h.vm.chat();
        type(chat, "What is the tallest bar?");
        h.timer.elapse();
        h.service.setState(SessionState.READING_DRAFT);
        h.ui.runAll();
        assertEquals(SessionState.READING_DRAFT, chat.stateProperty().get());
        assertTrue(chat.canSendProperty().get(), "a question can be sent while its draft is read");
        assertEquals("Reading your question\u2026", MainView.stateText(chat.stateProperty().get()));
        chat.send();
        assertEquals(1, h.service.asks.size());
    }
}
