package ai.convllava.app.gui.chat;

import ai.convllava.app.gui.common.Coalescer;
import ai.convllava.app.gui.common.Debouncer;
import ai.convllava.app.gui.common.Errors;
import ai.convllava.app.gui.conversation.ChatMessage;
import ai.convllava.app.gui.conversation.ConversationLibrary;
import ai.convllava.app.gui.conversation.HeatmapSource;
import ai.convllava.app.gui.conversation.OpenConversation;
import ai.convllava.app.gui.image.ImageViewModel;
import ai.convllava.app.gui.model.ModelViewModel;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.store.ConversationStore;
import ai.convllava.app.gui.store.SavedConversation;
import ai.convllava.app.gui.store.StatsText;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.Stage;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.heatmap.AttentionMaps;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.binding.StringBinding;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.ObservableList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The chat: the question being typed and the commands send / stop / regenerate / clear, the answer
 * being written (token deltas arrive on the inference thread, are queued, and reach the message once
 * per UI pulse), the stage indicator, errors and notices. The conversation itself is an
 * {@link OpenConversation}; the saved ones are a {@link ConversationLibrary} (the conversation is saved
 * when an answer ends and at most every {@link #SAVE_INTERVAL_MS} while it streams, so a crash loses
 * nothing already shown for long); the question is read while it is typed by a {@link DraftReader}.
 */
public final class ChatViewModel {
    private static final Logger LOG = LoggerFactory.getLogger(ChatViewModel.class);
    public static final long SAVE_INTERVAL_MS = 1000;
    /**
     * Attention over the image is recorded for every answer, whether or not the heatmap panel is open, so
     * that a map can be looked at after the fact: per token it is one copy, mean over heads, of
     * probabilities the attention computes anyway (the bench measures decode tokens/s with recording on
     * and off); {@link OpenConversation} keeps the maps of the last few answers.
     */
    public static final boolean RECORD_ATTENTION = true;
    public static final int KEEP_ATTENTION_ANSWERS = OpenConversation.KEEP_ATTENTION_ANSWERS;
    /** Pause after the last keystroke before the question being typed is read into the model. */
    public static final long DRAFT_DELAY_MS = DraftReader.DELAY_MS;
    /** The pause after the last change of the heatmap cap before maps beyond it are deleted (typing "256" passes "2"). */
    public static final long HEATMAP_CAP_PAUSE_MS = 2000;
    /** Regenerate samples at this temperature when the settings say 0 (greedy would write the same answer again). */
    public static final double REGENERATE_TEMPERATURE = 0.7;

    private final VisionChatSession session;
    private final AppSettings settings;
    private final ImageViewModel image;
    private final ModelViewModel model;
    private final Executor ui;
    private final LongSupplier clock;
    private final OpenConversation conversation = new OpenConversation();
    private final ConversationLibrary library;
    private final DraftReader drafts;

    private final StringProperty input = new SimpleStringProperty(this, "input", "");
    private final ReadOnlyObjectWrapper<SessionState> state = new ReadOnlyObjectWrapper<>(this, "state", SessionState.NO_MODEL);
    private final ReadOnlyBooleanWrapper answering = new ReadOnlyBooleanWrapper(this, "answering");
    private final ReadOnlyStringWrapper stage = new ReadOnlyStringWrapper(this, "stage", "");
    private final ReadOnlyDoubleWrapper stageProgress = new ReadOnlyDoubleWrapper(this, "stageProgress", -1);
    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper(this, "error");
    private final ReadOnlyStringWrapper notice = new ReadOnlyStringWrapper(this, "notice");
    private final ReadOnlyObjectWrapper<SavedConversation> deleted = new ReadOnlyObjectWrapper<>(this, "deleted");
    private final ReadOnlyStringWrapper heatmapUsage = new ReadOnlyStringWrapper(this, "heatmapUsage", "");
    private final BooleanBinding canSend;
    private final BooleanBinding canRegenerate;
    private final BooleanBinding canClear;
    private final StringBinding regenerateHint;

    private Answer current;
    private long lastSave;

    /** One answer being written: its message, its queue of deltas, its handle. */
    private final class Answer implements AnswerListener {
        final ChatMessage message;
        final int maxNewTokens;
        final ConcurrentLinkedQueue<String> deltas = new ConcurrentLinkedQueue<>();
        /** Every delta in order, one per generated token (then the flushed tail, if any): the words of the heatmap. */
        final List<String> tokenTexts = Collections.synchronizedList(new ArrayList<>());
        final String question;
        final AtomicInteger tokens = new AtomicInteger();
        final AtomicBoolean stopRequested = new AtomicBoolean();
        volatile Stage stage;
        volatile double fraction = -1;
        volatile TaskHandle<GenerationResult> handle;
        final Coalescer drain;

        Answer(ChatMessage message, int maxNewTokens, String question) {
            this.message = message;
            this.question = question;
            this.maxNewTokens = maxNewTokens;
            this.drain = new Coalescer(ui, () -> drain(this));
        }

        @Override
        public void onStage(Stage s, double f) {
            stage = s;
            fraction = f;
            drain.request();
        }

        @Override
        public void onText(String delta) {
            tokens.incrementAndGet();
            deltas.add(delta);
            tokenTexts.add(delta);
            drain.request();
        }
    }

    /**
     * @param timer the pause before a question being typed is read ({@link Debouncer.Timer#fx()} in the app)
     */
    public ChatViewModel(VisionChatSession session, AppSettings settings, ImageViewModel image, ModelViewModel model,
                         ConversationLibrary library, Executor ui, LongSupplier clock, Debouncer.Timer timer) {
        this.session = session;
        this.settings = settings;
        this.image = image;
        this.model = model;
        this.library = library;
        this.ui = ui;
        this.clock = clock;
        this.drafts = new DraftReader(session, timer, ui,
                () -> settings.readWhileTypingProperty().get() && input.get() != null && !input.get().isBlank(), this::draftRequest);
        Debouncer heatmapCap = new Debouncer(timer, HEATMAP_CAP_PAUSE_MS, this::applyHeatmapCap);
        settings.heatmapStoreMbProperty().addListener((o, a, b) -> heatmapCap.restart());
        model.stateProperty().addListener((o, a, b) -> recomputeState());
        model.infoProperty().addListener((o, a, b) -> recomputeState());
        answering.addListener((o, a, b) -> recomputeState());
        recomputeState();
        canSend = Bindings.createBooleanBinding(() -> !answering.get() && !input.get().isBlank() && model.infoProperty().get() != null
                && isSessionUsable(model.stateProperty().get()), answering, input, model.infoProperty(), model.stateProperty());
        canRegenerate = Bindings.createBooleanBinding(() -> !answering.get() && model.infoProperty().get() != null
                && isSessionUsable(model.stateProperty().get()) && conversation.endsWithAnswer(), answering, conversation.messages(),
                model.infoProperty(), model.stateProperty());
        canClear = Bindings.createBooleanBinding(() -> !answering.get() && (!conversation.isEmpty() || conversation.idProperty().get() != null),
                answering, conversation.messages(), conversation.idProperty());

        regenerateHint = Bindings.createStringBinding(() -> settings.temperatureProperty().get() == 0
                ? "Write the last answer again, sampled at temperature " + REGENERATE_TEMPERATURE
                        + " (at the temperature of 0 in Settings it would be the same answer)"
                : "Write the last answer again (temperature " + settings.temperatureProperty().get() + ")", settings.temperatureProperty());
        input.addListener((o, a, b) -> drafts.edited());
        settings.readWhileTypingProperty().addListener((o, a, on) -> {
            if (on) {
                drafts.edited();
            } else {
                drafts.stop();
            }
        });
        // what the session holds changed: the question typed so far is read again for it
        image.preprocessedProperty().addListener((o, a, b) -> drafts.forget());
        model.infoProperty().addListener((o, a, b) -> drafts.forget());
        answering.addListener((o, a, on) -> {
            if (!on) {
                drafts.forget(); // a follow-up typed while the answer was written
            }
        });
    }

    private static boolean isSessionUsable(SessionState s) {
        return s == SessionState.READY || s == SessionState.ENCODING || s == SessionState.READING_DRAFT || s == SessionState.GENERATING;
    }

    private void recomputeState() {
        SessionState s = model.stateProperty().get();
        state.set(answering.get() ? SessionState.GENERATING : s);
    }

    // ---- commands ---------------------------------------------------------------------------------

    /** Sends the typed question (with every earlier turn) about the current image. */
    public void send() {
        String q = input.get() == null ? "" : input.get().strip();
        if (q.isEmpty() || answering.get()) {
            return;
        }
        if (model.infoProperty().get() == null) {
            error.set("No model is loaded: choose a ConvLLaVA model folder first (Model > Choose model folder\u2026).");
            return;
        }
        GenerationConfig gen = generationOrShowError();
        if (gen == null) {
            return;
        }
        input.set("");
        if (conversation.idProperty().get() == null) {
            Path p = image.sourcePathProperty().get();
            // a pasted image has no file, and a PDF page is not what its file opens on: both are kept as a copy
            conversation.start(q, clock.getAsLong(), settings.canvasModeProperty().get(), p != null ? p.toAbsolutePath().toString() : null,
                    image.pastedProperty().get() || image.isDocumentPage() ? image.originalProperty().get() : null);
        }
        conversation.addQuestion(q);
        ask(gen);
    }

    /** The decoding settings, or null after showing what is wrong with them; clears the error when they are valid. */
    private GenerationConfig generationOrShowError() {
        try {
            GenerationConfig gen = settings.generationConfig();
            error.set(null);
            return gen;
        } catch (IllegalArgumentException e) {
            error.set("Settings: " + e.getMessage());
            return null;
        }
    }

    /** Stops the answer being written, at once; what was written stays. */
    public void stop() {
        Answer a = current;
        if (a == null) {
            return;
        }
        a.stopRequested.set(true);
        TaskHandle<GenerationResult> h = a.handle;
        if (h != null) {
            h.cancel();
        }
        stage.set("Stopping\u2026");
    }

    /**
     * Writes the last answer again. At temperature 0 (greedy, the default) the model would write the very
     * same answer, so that one answer is sampled at {@link #REGENERATE_TEMPERATURE} with a fresh seed, and a
     * notice says so; the settings do not change.
     */
    public void regenerate() {
        if (!canRegenerate.get()) {
            return;
        }
        GenerationConfig gen = generationOrShowError();
        if (gen == null) {
            return;
        }
        String why = null;
        if (gen.temperature() == 0) {
            gen = new GenerationConfig(gen.maxNewTokens(), REGENERATE_TEMPERATURE, gen.topP(), gen.topK(), gen.repetitionPenalty(), null,
                    gen.recordAttention());
            why = "Temperature is 0 in Settings, which writes the same answer every time: this answer was sampled at temperature "
                    + REGENERATE_TEMPERATURE + " to give a different one (your settings are unchanged).";
        }
        conversation.removeLastAnswer();
        ask(gen);
        notice.set(why);
    }

    /** What Regenerate will do with the current settings (its tooltip). */
    public StringBinding regenerateHintProperty() {
        return regenerateHint;
    }

    /** A new, empty conversation about the same image (the current one stays saved in the sidebar). */
    public void clear() {
        if (answering.get()) {
            return;
        }
        conversation.clear();
        error.set(null);
        session.newConversation();
        drafts.forget();
    }

    /** The last answer's text, for the clipboard; empty when there is none. */
    public String lastAnswer() {
        return conversation.lastAnswer();
    }

    public void dismissError() {
        error.set(null);
    }

    private void ask(GenerationConfig gen) {
        drafts.sent();
        notice.set(null); // a notice was about the answer before
        List<Turn> turns = conversation.turns();
        ChatRequest request = new ChatRequest(turns, settings.systemPromptForRequest(), gen.withRecordAttention(RECORD_ATTENTION));
        ChatMessage answer = conversation.startAnswer();
        if (conversation.idProperty().get() != null) {
            // a regenerated answer takes its predecessor's place: that one's saved map must not come back with it
            library.forgetHeatmap(conversation.idProperty().get(), conversation.messages().size() - 1);
        }
        Answer a = new Answer(answer, gen.maxNewTokens(), turns.get(turns.size() - 1).user());
        current = a;
        answering.set(true);
        stage.set(image.busyProperty().get() ? "Preparing image\u2026" : "Starting\u2026");
        stageProgress.set(-1);
        lastSave = clock.getAsLong();
        persist();
        image.ready().handle((x, e) -> null).thenRun(() -> {
            if (a.stopRequested.get()) {
                ui.execute(() -> finish(a, null, null));
                return;
            }
            TaskHandle<GenerationResult> h = session.ask(request, a);
            a.handle = h;
            if (a.stopRequested.get()) {
                h.cancel();
            }
            h.result().whenComplete((r, e) -> ui.execute(() -> finish(a, r, e)));
        });
    }

    private void drain(Answer a) {
        if (a != current) {
            return;
        }
        StringBuilder sb = new StringBuilder();
        for (String d; (d = a.deltas.poll()) != null; ) {
            sb.append(d);
        }
        if (sb.length() > 0) {
            conversation.append(a.message, sb.toString());
        }
        if (!a.stopRequested.get() && a.stage != null) {
            switch (a.stage) {
                case ENCODING_IMAGE:
                    stage.set("Encoding image\u2026");
                    stageProgress.set(a.fraction);
                    break;
                case READING_PROMPT:
                    stage.set("Reading prompt\u2026");
                    stageProgress.set(a.fraction);
                    break;
                default:
                    int n = a.tokens.get();
                    stage.set("Writing answer (" + n + (n == 1 ? " token)" : " tokens)"));
                    stageProgress.set(a.fraction >= 0 ? a.fraction : Math.min(1, n / (double) a.maxNewTokens));
                    break;
            }
        }
        long now = clock.getAsLong();
        if (now - lastSave >= SAVE_INTERVAL_MS) {
            lastSave = now;
            persist();
        }
    }

    private void finish(Answer a, GenerationResult r, Throwable e) {
        if (a != current) {
            return;
        }
        drain(a);
        current = null;
        ChatMessage m = a.message;
        if (r != null) {
            String text = !r.text().isEmpty() || r.finishReason() != FinishReason.CANCELLED ? r.text() : null;
            Timings t = r.timings();
            SavedConversation.Stats stats = new SavedConversation.Stats(t.timeToFirstTokenMs(), t.decodeTokensPerSecond(), r.promptTokens(),
                    r.imageTokens(), r.generatedIds().length, r.reusedPromptTokens());
            String why = r.finishReason() == FinishReason.ERROR ? r.error() : null;
            conversation.finish(m, text, why, r.finishReason().name(), stats, StatsText.of(stats, r.finishReason().name()),
                    StatsText.details(stats, r.finishReason().name()));
            keepAttention(a, r);
        } else if (e != null) {
            conversation.finish(m, null, Errors.message(e), FinishReason.ERROR.name(), null, "failed", "");
        } else {
            conversation.finish(m, null, null, FinishReason.CANCELLED.name(), null, "stopped", "");
        }
        answering.set(false);
        stage.set("");
        stageProgress.set(-1);
        persist();
    }

    /** The answer's maps, on the canvas the model saw (the current preview, when its grid matches the recorded maps). */
    private void keepAttention(Answer a, GenerationResult r) {
        PreprocessedImage pre = image.preprocessedProperty().get();
        if (r.imageAttention().isEmpty() || pre == null) {
            return;
        }
        try {
            AttentionMaps maps = AttentionMaps.of(pre.geometry(), r.imageAttention(), List.copyOf(a.tokenTexts), r.generatedIds().length,
                    r.finishReason() == FinishReason.EOS);
            HeatmapSource source = new HeatmapSource(maps, pre.canvas(), a.question);
            conversation.keepAttention(a.message, source);
            String id = conversation.idProperty().get();
            int index = conversation.messages().indexOf(a.message);
            if (id != null && index >= 0 && settings.heatmapStoreBytes() > 0) {
                library.saveHeatmap(id, index, source, settings.heatmapStoreBytes());
            }
        } catch (IllegalArgumentException ex) {
            LOG.info("no heatmap for this answer: {}", ex.getMessage());
        }
    }

    /** The question typed so far as a draft request, when the model is free to take it; else null. */
    private ChatRequest draftRequest() {
        String q = input.get() == null ? "" : input.get().strip();
        if (q.isEmpty() || !settings.readWhileTypingProperty().get() || answering.get() || model.infoProperty().get() == null
                || !isSessionUsable(model.stateProperty().get()) || image.busyProperty().get()) {
            return null;
        }
        List<Turn> turns = conversation.turns();
        if (!turns.isEmpty() && turns.get(turns.size() - 1).assistant() == null) {
            return null;
        }
        turns.add(Turn.pending(q)); // as send() will ask it
        return ChatRequest.draft(turns, settings.systemPromptForRequest());
    }

    // ---- saved conversations ----------------------------------------------------------------------

    /** Saves the current conversation in the background (atomic write). No-op without one. */
    public CompletableFuture<Void> persist() {
        if (conversation.idProperty().get() == null || conversation.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        var copy = conversation.takeImageToCopy();
        return library.save(snapshot(), copy);
    }

    /** The current conversation as it would be saved now. */
    public Optional<SavedConversation> current() {
        return conversation.idProperty().get() == null ? Optional.empty() : Optional.of(snapshot());
    }

    private SavedConversation snapshot() {
        SavedConversation.Generation g = new SavedConversation.Generation(settings.temperatureProperty().get(), settings.topPProperty().get(),
                settings.topKProperty().get(), settings.repetitionPenaltyProperty().get(), settings.maxNewTokensProperty().get(),
                settings.seedProperty().get(), settings.systemPromptProperty().get());
        return conversation.snapshot(clock.getAsLong(), g, settings.canvasModeProperty().get());
    }

    /** Reads the saved conversations (in the background) into the sidebar list. */
    public CompletableFuture<Void> reloadConversations() {
        return library.reload();
    }

    /** Shows a saved conversation, its image and its settings; follow-up questions continue it. */
    public void open(SavedConversation c) {
        if (answering.get() || c.id().equals(conversation.idProperty().get())) {
            return;
        }
        session.newConversation();
        drafts.cacheCleared();
        conversation.load(c, settings.canvasModeProperty().get());
        error.set(null);
        if (isCanvasMode(c.canvasMode())) {
            settings.canvasModeProperty().set(conversation.mode());
        }
        restoreSettings(c); // before the image: its pre-encode reads the conversation's system prompt
        restoreHeatmaps(c);
        Optional<Path> img = library.imageOf(c);
        if (img.isPresent()) {
            image.openFile(img.get());
        } else {
            image.clear();
            if (c.imagePath() != null || c.imageCopy() != null) {
                image.reject("The image of this conversation is gone (" + (c.imagePath() != null ? c.imagePath() : c.imageCopy())
                        + "); open it again to ask more.");
            }
        }
    }

    /** The saved heatmaps of the conversation's last answers come back (read in the background) while it is still the open one. */
    private void restoreHeatmaps(SavedConversation c) {
        List<Integer> answers = new ArrayList<>();
        List<ChatMessage> shown = conversation.messages();
        for (int i = shown.size() - 1; i >= 0 && answers.size() < KEEP_ATTENTION_ANSWERS; i--) {
            if (shown.get(i).role() == ChatMessage.Role.ASSISTANT) {
                answers.add(0, i);
            }
        }
        if (answers.isEmpty()) {
            return;
        }
        List<ChatMessage> asOpened = List.copyOf(shown);
        library.loadHeatmaps(c.id(), answers).thenAccept(found -> {
            if (!c.id().equals(conversation.idProperty().get())) {
                return; // another conversation was opened meanwhile
            }
            found.forEach((i, source) -> {
                if (i < asOpened.size() && conversation.messages().contains(asOpened.get(i)) && asOpened.get(i).attentionProperty().get() == null) {
                    conversation.keepAttention(asOpened.get(i), source);
                }
            });
        });
    }

    private static boolean isCanvasMode(String s) {
        try {
            CanvasMode.valueOf(s);
            return true;
        } catch (IllegalArgumentException | NullPointerException e) {
            return false;
        }
    }

    /**
     * The decoding settings and system prompt the conversation was written with become the current
     * ones (as its canvas mode does), so a follow-up or Regenerate continues it as it was written. A
     * file from before these were saved, or with values out of range (edited by hand), leaves the
     * current settings as they are.
     */
    private void restoreSettings(SavedConversation c) {
        SavedConversation.Generation g = c.settings();
        if (g == null) {
            return;
        }
        try {
            AppSettings.generationConfig(g.maxNewTokens(), g.temperature(), g.topP(), g.topK(), g.repetitionPenalty(), g.seed()); // validates the ranges
        } catch (IllegalArgumentException e) {
            LOG.warn("conversation {}: its saved decoding settings are not used ({})", c.id(), e.getMessage());
            return;
        }
        settings.temperatureProperty().set(g.temperature());
        settings.topPProperty().set(g.topP());
        settings.topKProperty().set(g.topK());
        settings.repetitionPenaltyProperty().set(g.repetitionPenalty());
        settings.maxNewTokensProperty().set(g.maxNewTokens());
        settings.seedProperty().set(g.seed());
        if (g.systemPrompt() != null) {
            settings.systemPromptProperty().set(g.systemPrompt());
        }
    }

    /**
     * Deletes a saved conversation to the trash, where {@link #undoDelete} finds it until the next start.
     * Deleting the open one opens its neighbour in the list (the one below, else the one above) with its
     * image, or, when it was the last, leaves an empty chat and no image: the preview shows what is selected.
     */
    public CompletableFuture<Void> delete(SavedConversation c) {
        if (c.id().equals(conversation.idProperty().get())) {
            if (answering.get()) {
                error.set("Wait for the answer (or press Esc to stop it) before deleting this conversation.");
                return CompletableFuture.completedFuture(null);
            }
            SavedConversation next = neighbour(c);
            clear();
            if (next != null) {
                open(next);
            } else {
                image.clear();
            }
        }
        SavedConversation gone = c; // the listed copy is the one last saved, so the file an undo brings back
        deleted.set(gone);
        return library.delete(gone).whenComplete((x, e) -> {
            if (e != null) {
                ui.execute(() -> {
                    if (deleted.get() == gone) {
                        deleted.set(null);
                    }
                    error.set("Could not delete " + gone.title() + ": " + Errors.unwrap(e).getMessage());
                });
            }
        });
    }

    private SavedConversation neighbour(SavedConversation c) {
        List<SavedConversation> all = library.conversations();
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).id().equals(c.id())) {
                return i + 1 < all.size() ? all.get(i + 1) : i > 0 ? all.get(i - 1) : null;
            }
        }
        return null;
    }

    /** Brings the last deleted conversation back from the trash and opens it (unless an answer is being written). */
    public CompletableFuture<Void> undoDelete() {
        SavedConversation c = deleted.get();
        if (c == null) {
            return CompletableFuture.completedFuture(null);
        }
        deleted.set(null);
        return library.restore(c).whenComplete((x, e) -> ui.execute(() -> {
            if (e != null) {
                error.set("Could not bring back " + c.title() + ": " + Errors.unwrap(e).getMessage());
                if (deleted.get() == null && !(Errors.unwrap(e) instanceof ConversationStore.GoneFromTrash)) {
                    deleted.set(c); // nothing was moved: the undo can be tried again
                }
            } else if (!answering.get()) {
                open(c);
            }
        }));
    }

    /** Forgets the offer to undo the last delete (the conversation stays in the trash until the next start). */
    public void dismissUndoDelete() {
        deleted.set(null);
    }

    /** The conversation the last delete removed, while it can be brought back; null otherwise. */
    public ReadOnlyObjectProperty<SavedConversation> deletedProperty() {
        return deleted.getReadOnlyProperty();
    }

    /**
     * Drops (in the background) the least recently written heatmaps beyond the cap, at start and a pause after
     * the setting changes (so a value typed on the way to another drops nothing); then reads the usage again,
     * or shows why the maps could not be dropped.
     */
    public CompletableFuture<Void> applyHeatmapCap() {
        return library.trimHeatmaps(settings.heatmapStoreBytes()).whenComplete((x, e) -> {
            if (e != null) {
                ui.execute(() -> heatmapUsage.set("unknown (old heatmaps could not be deleted: " + Errors.unwrap(e).getMessage() + ")"));
            } else {
                refreshHeatmapUsage();
            }
        });
    }

    /** Reads (in the background) how much disk the saved heatmaps take, for the Settings. */
    public void refreshHeatmapUsage() {
        library.heatmapBytes().whenComplete((bytes, e) -> ui.execute(() -> heatmapUsage.set(e != null
                ? "unknown (" + Errors.unwrap(e).getMessage() + ")"
                : String.format(Locale.ROOT, "%.1f MB used of %d MB", bytes / 1e6, settings.heatmapStoreBytes() / 1_000_000L))));
    }

    /** "12.3 MB used of 256 MB" once {@link #refreshHeatmapUsage} has read it; empty before. */
    public ReadOnlyStringProperty heatmapUsageProperty() {
        return heatmapUsage.getReadOnlyProperty();
    }

    /** Deletes for good what earlier runs of the app deleted (at start). */
    public void emptyTrash() {
        library.emptyTrash();
    }

    /** Exports the current conversation as Markdown or JSON (by the file's extension), the image beside it. */
    public CompletableFuture<Void> export(Path target) {
        Optional<SavedConversation> c = current();
        if (c.isEmpty()) {
            error.set("Nothing to export yet: ask a question first.");
            return CompletableFuture.completedFuture(null);
        }
        return persist().handle((x, e) -> null).thenCompose(x -> library.export(c.get(), target)).whenComplete((x, e) -> ui.execute(() -> {
            if (e == null) {
                notice.set("Exported to " + target);
            } else {
                error.set("Export failed: " + Errors.unwrap(e).getMessage());
            }
        }));
    }

    // ---- properties -------------------------------------------------------------------------------

    public ObservableList<ChatMessage> messages() {
        return conversation.messages();
    }

    public ObservableList<SavedConversation> conversations() {
        return library.conversations();
    }

    public StringProperty inputProperty() {
        return input;
    }

    public ReadOnlyObjectProperty<SessionState> stateProperty() {
        return state.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty answeringProperty() {
        return answering.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty stageProperty() {
        return stage.getReadOnlyProperty();
    }

    public ReadOnlyDoubleProperty stageProgressProperty() {
        return stageProgress.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty errorProperty() {
        return error.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty noticeProperty() {
        return notice.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<String> conversationIdProperty() {
        return conversation.idProperty();
    }

    /** The last answer that has a heatmap (null after New chat or opening a saved conversation). */
    public ReadOnlyObjectProperty<ChatMessage> latestAttentionProperty() {
        return conversation.latestAttentionProperty();
    }

    public BooleanBinding canSendProperty() {
        return canSend;
    }

    public ReadOnlyBooleanProperty canStopProperty() {
        return answering.getReadOnlyProperty();
    }

    public BooleanBinding canRegenerateProperty() {
        return canRegenerate;
    }

    public BooleanBinding canClearProperty() {
        return canClear;
    }
}
