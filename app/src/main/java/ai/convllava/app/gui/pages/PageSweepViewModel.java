package ai.convllava.app.gui.pages;

import ai.convllava.app.gui.common.Errors;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Stage;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.DecodedImage;
import ai.convllava.model.api.image.ImageFiles;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.IntConsumer;

/**
 * Chat > Ask about every page: one question asked of each page of the open PDF, each in a fresh
 * conversation about that page, the answers listed per page as they come, with progress and Cancel.
 * A finished row leads to its page. While it runs it owns the session (the window is blocked); when it
 * ends, {@code onFinished} gives the session back the page the preview shows.
 */
public final class PageSweepViewModel {
    /**
     * One page's outcome.
     *
     * @param answer the answer, or null when it failed
     * @param error  why it failed, or null
     */
    public record Row(int page, String answer, String error) {
        /** What the list shows: the page and the answer's first line (or the error). */
        public String summary() {
            String text = error != null ? "failed: " + error : answer.strip().replaceAll("\\s+", " ");
            return "Page " + page + ": " + (text.length() > 160 ? text.substring(0, 157) + "…" : text);
        }
    }

    private final VisionChatSession session;
    private final AppSettings settings;
    private final Path pdf;
    private final int pageCount;
    private final Executor background;
    private final Executor ui;
    private final IntConsumer showPage;
    private final Runnable onFinished;
    private final ObservableList<Row> rows = FXCollections.observableArrayList();
    private final ReadOnlyBooleanWrapper running = new ReadOnlyBooleanWrapper(this, "running");
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(this, "progress");
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper(this, "status", "");
    private volatile boolean cancelled;
    private volatile TaskHandle<?> current;
    private CompletableFuture<Void> done = CompletableFuture.completedFuture(null);

    /**
     * @param showPage   shows a page in the preview (a row is clicked)
     * @param onFinished called on the UI thread when a run ends (however it ends)
     */
    public PageSweepViewModel(VisionChatSession session, AppSettings settings, Path pdf, int pageCount, Executor background, Executor ui,
                              IntConsumer showPage, Runnable onFinished) {
        this.session = session;
        this.settings = settings;
        this.pdf = pdf;
        this.pageCount = pageCount;
        this.background = background;
        this.ui = ui;
        this.showPage = showPage;
        this.onFinished = onFinished;
        status.set(pageCount + " pages in " + pdf.getFileName() + "; type a question and press Ask");
    }

    /** Asks {@code question} of every page, in the background; nothing when a run is going or the question is blank. */
    public CompletableFuture<Void> start(String question) {
        if (running.get()) {
            return done;
        }
        if (question == null || question.isBlank()) {
            status.set("Type the question to ask of every page first.");
            return CompletableFuture.completedFuture(null);
        }
        String q = question.strip();
        rows.clear();
        cancelled = false;
        running.set(true);
        progress.set(0);
        CanvasMode mode = settings.canvasModeProperty().get();
        GenerationConfig gen = settings.generationConfig();
        String system = settings.systemPromptForRequest();
        done = CompletableFuture.runAsync(() -> sweep(q, mode, gen, system), background);
        return done;
    }

    private void sweep(String q, CanvasMode mode, GenerationConfig gen, String system) {
        int answered = 0;
        int failed = 0;
        String ending = null;
        try {
            for (int p = 1; p <= pageCount && !cancelled; p++) {
                int page = p;
                ui.execute(() -> status.set("Page " + page + " of " + pageCount + ": reading it"));
                Row row;
                try {
                    DecodedImage d = ImageFiles.read(pdf, page);
                    TaskHandle<?> image = session.setImage(d.image(), mode, true);
                    current = image;
                    image.result().join();
                    if (cancelled) {
                        break;
                    }
                    session.newConversation(); // each page answered on its own, as if asked alone
                    TaskHandle<GenerationResult> h = session.ask(new ChatRequest(List.of(Turn.pending(q)), system, gen), streaming(page));
                    current = h;
                    GenerationResult r = h.result().join();
                    if (r.finishReason() == FinishReason.CANCELLED || cancelled) {
                        break;
                    }
                    row = r.error() != null ? new Row(page, null, r.error()) : new Row(page, r.text(), null);
                } catch (RuntimeException e) {
                    if (cancelled || Errors.isCancellation(e)) {
                        break;
                    }
                    row = new Row(page, null, Errors.message(e));
                }
                if (row.error() != null) {
                    failed++;
                } else {
                    answered++;
                }
                Row done = row;
                ui.execute(() -> {
                    rows.add(done);
                    progress.set(done.page() / (double) pageCount);
                });
            }
        } finally {
            current = null;
            int a = answered;
            int f = failed;
            boolean stopped = cancelled;
            ui.execute(() -> {
                running.set(false);
                status.set((stopped ? "Cancelled after " + (a + f) + " of " + pageCount + " pages" : "All " + pageCount + " pages asked")
                        + (f > 0 ? "; " + f + " failed" : "") + (a + f > 0 ? ". Click an answer to see its page." : "."));
                onFinished.run();
            });
        }
    }

    /** Shows the page's answer as it streams, in the status line. */
    private AnswerListener streaming(int page) {
        StringBuilder text = new StringBuilder();
        return new AnswerListener() {
            @Override
            public void onStage(Stage stage, double fraction) {
            }

            @Override
            public void onText(String delta) {
                text.append(delta);
                String shown = text.toString().strip().replaceAll("\\s+", " ");
                String line = "Page " + page + " of " + pageCount + ": " + (shown.length() > 120 ? "…" + shown.substring(shown.length() - 119) : shown);
                ui.execute(() -> status.set(line));
            }
        };
    }

    /** Stops after the page being answered (its answer is stopped too); the pages done stay listed. */
    public void cancel() {
        cancelled = true;
        TaskHandle<?> h = current;
        if (h != null) {
            h.cancel();
        }
    }

    /** Shows a listed page in the preview; not while a run owns the session. */
    public void open(Row row) {
        if (row != null && !running.get()) {
            showPage.accept(row.page());
        }
    }

    /** The run in progress (or the last one), for tests and the window's closing. */
    public CompletableFuture<Void> finished() {
        return done;
    }

    public ObservableList<Row> rows() {
        return rows;
    }

    public ReadOnlyBooleanProperty runningProperty() {
        return running.getReadOnlyProperty();
    }

    public ReadOnlyDoubleProperty progressProperty() {
        return progress.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    public int pageCount() {
        return pageCount;
    }
}
