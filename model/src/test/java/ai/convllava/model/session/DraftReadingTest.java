package ai.convllava.model.session;

import ai.convllava.model.api.Stage;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.DraftResult;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.VisionChatSession;

import ai.convllava.model.api.Device;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.generate.TokenListener;
import ai.convllava.model.api.image.CanvasMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static ai.convllava.model.session.LocalVisionChatSessionTest.Q;
import static ai.convllava.model.session.LocalVisionChatSessionTest.TINY;
import static ai.convllava.model.session.LocalVisionChatSessionTest.get;
import static ai.convllava.model.session.LocalVisionChatSessionTest.golden;
import static ai.convllava.model.session.LocalVisionChatSessionTest.wide;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The question read while it is typed ({@link VisionChatSession#readDraft}) on the tiny model: it never
 * changes an answer, whatever drafts came before (edited, shortened, superseded, for a follow-up), and
 * the answer reports that the draft's tokens were reused.
 */
class DraftReadingTest {
    static final String FOLLOW_UP = "And the shortest?";
    LocalVisionChatSession service;
    final List<SessionState> states = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void start() throws Exception {
        service = new LocalVisionChatSession();
        get(service.loadModel(LoadOptions.of(TINY.resolve("tiny-convllava")).withDevice(Device.CPU), ProgressListener.NONE));
        get(service.setImage(wide(), CanvasMode.PAD));
        service.addStateListener(states::add);
    }

    @AfterEach
    void stop() {
        service.close();
    }

    static ChatRequest question(String q) {
        return ChatRequest.question(q, GenerationConfig.greedy(16));
    }

    GenerationResult ask(ChatRequest r) throws Exception {
        return get(service.ask(r, AnswerListenerStub.NONE));
    }

    DraftResult draft(String q) throws Exception {
        return get(service.readDraft(question(q)));
    }

    /** The image prefix read again, the conversation empty: as just after the image was dropped. */
    void freshConversation() throws Exception {
        service.newConversation();
        get(service.setImage(wide(), CanvasMode.PAD));
    }

    @Test
    void aDraftThenTheQuestionGivesTheColdAnswerAndComputesOnlyTheEnd() throws Exception {
        GenerationResult cold = ask(question(Q));
        assertArrayEquals(golden("wide.pad"), cold.generatedIds());
        assertEquals(34 + 16, cold.reusedPromptTokens(), "the pre-encoded image prefix");

        freshConversation();
        DraftResult d = draft(Q);
        assertEquals(DraftResult.Outcome.READ, d.outcome(), d.reason());
        assertEquals(d.draftTokens() - (34 + 16), d.computedTokens(), "the image prefix was already read");
        GenerationResult r = ask(question(Q));
        assertArrayEquals(cold.generatedIds(), r.generatedIds());
        assertEquals(cold.promptTokens(), r.promptTokens());
        assertEquals(d.draftTokens(), r.reusedPromptTokens(), "the whole draft was reused");
        assertTrue(r.computedPromptTokens() < cold.computedPromptTokens(), r.computedPromptTokens() + " vs " + cold.computedPromptTokens());
        assertTrue(r.computedPromptTokens() <= 6, "only \" ASSISTANT:\" was left: " + r.computedPromptTokens());
        assertTrue(states.contains(SessionState.READING_DRAFT));
    }

    @Test
    void editedAndShortenedDraftsNeverChangeTheAnswer() throws Exception {
        for (String typed : List.of("What", "What is the smallest", "What is the tallest bar in this chart? Answer in one word",
                "What is the tallest bar in", "What is the tallest bar in this chart?  ", "What is the tallest bar in this chart")) {
            assertEquals(DraftResult.Outcome.READ, draft(typed).outcome(), typed);
        }
        GenerationResult r = ask(question(Q));
        assertArrayEquals(golden("wide.pad"), r.generatedIds());
        assertTrue(r.reusedPromptTokens() > 34 + 16, "the common start of the last draft and the question was reused");

        // a draft longer than what is finally sent ("... chart? Answer in one word", then the end deleted and sent)
        freshConversation();
        draft(Q + " Answer in one word");
        GenerationResult shortened = ask(question(Q));
        assertArrayEquals(golden("wide.pad"), shortened.generatedIds());
    }

    @Test
    void aDraftWhoseLastTokenDiffersFromTheSentPromptIsReusedUpToIt() throws Exception {
        // with the tiny tokenizer.model, "... chart? " alone ends in "▁"; the sent prompt has "▁▁" (that space and the next)
        String q = Q + " ";
        GenerationResult cold = ask(question(q));
        freshConversation();
        DraftResult d = draft(q);
        GenerationResult r = ask(question(q));
        assertArrayEquals(cold.generatedIds(), r.generatedIds());
        assertEquals(d.draftTokens() - 1, r.reusedPromptTokens(), "reused up to the boundary token");
    }

    @Test
    void anAskCancelsADraftBeingReadAndAnswersExactly() throws Exception {
        AtomicReference<TaskHandle<GenerationResult>> asked = new AtomicReference<>();
        service.addStateListener(s -> {
            if (s == SessionState.READING_DRAFT && asked.get() == null) {
                asked.set(service.ask(question(Q), AnswerListenerStub.NONE)); // arrives while the draft is being read
            }
        });
        DraftResult d = draft("What is the tallest bar in this chart? Please look carefully at every bar first");
        assertEquals(DraftResult.Outcome.SUPERSEDED, d.outcome(), "stopped at the first layer boundary");
        GenerationResult r = get(asked.get());
        assertArrayEquals(golden("wide.pad"), r.generatedIds());
        assertEquals(34 + 16, r.reusedPromptTokens(), "nothing half-read was kept");
    }

    @Test
    void aNewImageOrModeCancelsADraftBeingRead() throws Exception {
        AtomicReference<TaskHandle<?>> changed = new AtomicReference<>();
        service.addStateListener(s -> {
            if (s == SessionState.READING_DRAFT && changed.get() == null) {
                changed.set(service.setImage(wide(), CanvasMode.NATIVE));
            }
        });
        assertEquals(DraftResult.Outcome.SUPERSEDED, draft(Q).outcome());
        get(changed.get());
        GenerationResult r = ask(question(Q));
        assertArrayEquals(golden("wide.native"), r.generatedIds());
    }

    @Test
    void aDraftForAFollowUpReusesTheConversationAndGivesTheSameAnswer() throws Exception {
        GenerationResult first = ask(question(Q));
        List<Turn> turns = List.of(new Turn(Q, first.text()), Turn.pending(FOLLOW_UP));
        ChatRequest followUp = new ChatRequest(turns, null, GenerationConfig.greedy(12));
        DraftResult d = get(service.readDraft(new ChatRequest(List.of(new Turn(Q, first.text()), Turn.pending("And the short")), null,
                GenerationConfig.greedy(12))));
        assertEquals(DraftResult.Outcome.READ, d.outcome(), d.reason());
        assertTrue(d.computedTokens() <= d.draftTokens() - first.promptTokens(), "the first question was in the cache already");
        GenerationResult withDraft = ask(followUp);

        freshConversation();
        ask(question(Q));
        GenerationResult without = ask(followUp);
        assertArrayEquals(without.generatedIds(), withDraft.generatedIds());
        assertEquals(without.promptTokens(), withDraft.promptTokens());
        assertTrue(withDraft.computedPromptTokens() < without.computedPromptTokens(),
                withDraft.computedPromptTokens() + " vs " + without.computedPromptTokens());
    }

    @Test
    void draftsSentWhileAnAnswerIsWrittenWaitAndOnlyTheLatestIsRead() throws Exception {
        List<TaskHandle<DraftResult>> drafts = Collections.synchronizedList(new ArrayList<>());
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        service.addStateListener(s -> events.add(s.name()));
        GenerationResult r = get(service.ask(question(Q), new AnswerListenerStub() {
            @Override
            public void onText(String delta) {
                if (drafts.isEmpty()) {
                    drafts.add(service.readDraft(question(FOLLOW_UP)));
                    drafts.add(service.readDraft(question("And the smallest?")));
                }
                events.add("token");
            }
        }));
        assertEquals(FinishReason.LENGTH, r.finishReason());
        assertArrayEquals(golden("wide.pad"), r.generatedIds(), "the answer is not disturbed");
        assertEquals(DraftResult.Outcome.SUPERSEDED, get(drafts.get(0)).outcome(), "an older queued draft is dropped");
        assertEquals(DraftResult.Outcome.READ, get(drafts.get(1)).outcome());
        int lastToken = events.lastIndexOf("token");
        assertTrue(events.indexOf(SessionState.READING_DRAFT.name()) > lastToken, "read after the answer: " + events);
        assertEquals(SessionState.READY, service.state());
    }

    @Test
    void aConversationTooLongForTheContextIsNotRead() throws Exception {
        DraftResult tooLong = draft("lorem ipsum dolor ".repeat(1500));
        assertEquals(DraftResult.Outcome.SKIPPED, tooLong.outcome());
        assertTrue(tooLong.reason().contains("context"), tooLong.reason());
        // a long conversation is read as its answer will be: without the oldest exchange
        String longText = "lorem ipsum dolor ".repeat(450);
        List<Turn> turns = List.of(new Turn(longText, longText), new Turn(longText, "ok"), Turn.pending("And now?"));
        ChatRequest request = new ChatRequest(turns, null, GenerationConfig.greedy(4));
        DraftResult d = get(service.readDraft(request));
        assertEquals(DraftResult.Outcome.READ, d.outcome(), d.reason());
        assertTrue(d.draftTokens() <= 4096, "within the context: " + d.draftTokens());
        GenerationResult r = ask(request);
        assertEquals(d.draftTokens(), r.reusedPromptTokens());
        assertArrayEquals(golden("wide.pad"), ask(question(Q)).generatedIds());
    }

    @Test
    void withoutAModelADraftIsSkipped() throws Exception {
        try (LocalVisionChatSession empty = new LocalVisionChatSession()) {
            DraftResult d = get(empty.readDraft(question(Q)));
            assertEquals(DraftResult.Outcome.SKIPPED, d.outcome());
        }
    }

    /** An answer listener that ignores everything unless overridden. */
    abstract static class AnswerListenerStub implements AnswerListener {
        static final AnswerListener NONE = new AnswerListenerStub() {
        };

        @Override
        public void onStage(Stage stage, double fraction) {
        }

        @Override
        public void onText(String delta) {
        }
    }
}
