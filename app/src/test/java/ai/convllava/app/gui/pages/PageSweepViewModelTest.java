package ai.convllava.app.gui.pages;

import ai.convllava.app.TestPdfs;
import ai.convllava.app.gui.FakeVisionChatSession;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Timings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Ask about every page, on the scripted session: one fresh conversation per page, failures listed, Cancel, and the session given back. */
class PageSweepViewModelTest {
    @TempDir
    Path tmp;

    final FakeVisionChatSession session = new FakeVisionChatSession();
    final AppSettings settings = new AppSettings();
    final ExecutorService background = Executors.newSingleThreadExecutor();
    final List<Integer> shown = new ArrayList<>();
    int finished;

    PageSweepViewModel sweep() throws IOException {
        Path pdf = TestPdfs.twoPages(tmp);
        return new PageSweepViewModel(session, settings, pdf, 2, background, Runnable::run, shown::add, () -> finished++);
    }

    /** Waits (on the condition, not a clock) until the sweep has sent its n-th question. */
    static void until(BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the condition did not hold within 20 s");
            }
            Thread.onSpinWait();
        }
    }

    @Test
    void everyPageIsAskedInAFreshConversationAndListed() throws Exception {
        PageSweepViewModel vm = sweep();
        var done = vm.start("  What is on this page?  ");
        assertTrue(vm.runningProperty().get());
        until(() -> session.asks.size() == 1);
        session.lastAsk().stream("A black", " square");
        assertEquals("Page 1 of 2: A black square", vm.statusProperty().get(), "the answer being written is shown");
        session.lastAsk().finish("A black square.", FinishReason.EOS);
        until(() -> session.asks.size() == 2);
        session.lastAsk().finish("Two bars, red and blue.\nThe red one is taller.", FinishReason.EOS);
        done.get(20, TimeUnit.SECONDS);
        assertFalse(vm.runningProperty().get());
        assertEquals(2, session.images.size(), "each page given to the model");
        assertNotEquals(session.images.get(0).width() * 1000 + session.images.get(0).height(),
                session.images.get(1).width() * 1000 + session.images.get(1).height(), "page 1 (portrait) and page 2 (landscape)");
        assertEquals(2, session.newConversations, "a fresh conversation for each page");
        assertEquals("What is on this page?", session.asks.get(1).request().turns().get(0).user());
        assertEquals(1, session.asks.get(1).request().turns().size(), "only that question, no earlier page's turn");
        assertEquals(List.of("Page 1: A black square.", "Page 2: Two bars, red and blue. The red one is taller."),
                vm.rows().stream().map(PageSweepViewModel.Row::summary).toList());
        assertEquals(1.0, vm.progressProperty().get());
        assertEquals("All 2 pages asked. Click an answer to see its page.", vm.statusProperty().get());
        assertEquals(1, finished, "the session is given back once");
        vm.open(vm.rows().get(1));
        assertEquals(List.of(2), shown);
    }

    @Test
    void aFailedPageIsListedWithItsErrorAndTheRestGoOn() throws Exception {
        PageSweepViewModel vm = sweep();
        var done = vm.start("q");
        until(() -> session.asks.size() == 1);
        session.lastAsk().handle().result().complete(new GenerationResult("", new int[0], FinishReason.ERROR, 10, 0, 4, new Timings(1, 1, 1, 1, 1, 0), 0,
                List.of(), "the KV cache is full"));
        until(() -> session.asks.size() == 2);
        session.lastAsk().finish("ok", FinishReason.EOS);
        done.get(20, TimeUnit.SECONDS);
        assertEquals("Page 1: failed: the KV cache is full", vm.rows().get(0).summary());
        assertNull(vm.rows().get(0).answer());
        assertEquals("All 2 pages asked; 1 failed. Click an answer to see its page.", vm.statusProperty().get());
    }

    @Test
    void cancelStopsTheAnswerBeingWrittenAndKeepsWhatIsDone() throws Exception {
        PageSweepViewModel vm = sweep();
        var done = vm.start("q");
        until(() -> session.asks.size() == 1);
        session.lastAsk().finish("first", FinishReason.EOS);
        until(() -> session.asks.size() == 2);
        vm.open(vm.rows().get(0));
        assertTrue(shown.isEmpty(), "no page change while the run owns the model");
        vm.cancel();
        assertTrue(session.lastAsk().handle().isCancelled(), "the answer being written is stopped");
        session.lastAsk().finish("", FinishReason.CANCELLED);
        done.get(20, TimeUnit.SECONDS);
        assertEquals(1, vm.rows().size());
        assertEquals("Cancelled after 1 of 2 pages. Click an answer to see its page.", vm.statusProperty().get());
        assertEquals(1, finished);
    }

    @Test
    void aBlankQuestionAsksNothing() throws Exception {
        PageSweepViewModel vm = sweep();
        vm.start("   ").get(5, TimeUnit.SECONDS);
        assertFalse(vm.runningProperty().get());
        assertTrue(session.asks.isEmpty());
        assertEquals("Type the question to ask of every page first.", vm.statusProperty().get());
    }
}
