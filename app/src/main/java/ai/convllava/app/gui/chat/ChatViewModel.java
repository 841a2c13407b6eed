package ai.convllava.app.gui.chat;

import ai.convllava.model.api.Stage;
import ai.convllava.model.api.Turn;
import ai.convllava.app.gui.Coalescer;
import ai.convllava.app.gui.Debouncer;
import ai.convllava.app.gui.Errors;
import ai.convllava.app.gui.heatmap.HeatmapSource;
import ai.convllava.app.gui.image.ImageViewModel;
import ai.convllava.app.gui.model.ModelViewModel;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.store.ConversationStore;
import ai.convllava.app.gui.store.SavedConversation;
import ai.convllava.app.gui.store.StatsText;
import ai.convllava.model.api.FinishReason;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.heatmap.AttentionMaps;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;
import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.DraftResult;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.VisionChatSession;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
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
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The conversation: messages, the question being typed, the commands send / stop / regenerate / clear,
 * the stage indicator, and the saved conversations (sidebar). Token deltas arrive on the inference
 * thread, are queued, and reach the messages once per UI pulse (one coalesced runLater per burst).
 * The conversation is saved when an answer ends and at most every {@link #SAVE_INTERVAL_MS} while it
 * streams, so a crash loses nothing already shown for long.
 *
 * <p>While the user types, the question is read into the model ahead of time
 * ({@link VisionChatSession#readDraft}): {@link #DRAFT_DELAY_MS} after the last keystroke, when no answer is
 * being written, a model is loaded and the image is ready, unless the setting is off. Sending then only has
 * what changed since to compute; the service drops a draft as soon as anything else is asked of it.
 */
public final class ChatViewModel {
    private static final Logger LOG = LoggerFactory.getLogger(ChatViewModel.class);
    public static final long SAVE_INTERVAL_MS = 1000;
    /**
     * Attention over the image is recorded for every answer, whether or not the heatmap panel is open, so
     * that a map can be looked at after the fact: per token it is one (layers x image tokens) copy, mean
     * over heads, taken from probabilities the attention computes anyway (the bench measures decode
     * tokens/s with recording on and off). 32 layers x 576 tokens is 74 KB per token, so the maps of only
     * the last {@link #KEEP_ATTENTION_ANSWERS} answers are kept, in memory (they are not saved).
     */
    public static final boolean RECORD_ATTENTION = true;
    public static final int KEEP_ATTENTION_ANSWERS = 8;
    /** Pause after the last keystroke before the question being typed is read into the model. */
    public static final long DRAFT_DELAY_MS = 400;

    private final VisionChatSession service;
    private final AppSettings settings;
    private final ImageViewModel image;
    private final ModelViewModel model;
    private final ConversationStore store;
    private final Executor io;
    private final Executor ui;
    private final LongSupplier clock;
    private final Debouncer draftDelay;

    private final ObservableList<ChatMessage> messages = FXCollections.observableArrayList();
    private final ObservableList<SavedConversation> conversations = FXCollections.observableArrayList();
    // one wrapper each: a view listens to it, and a fresh wrapper per call would be collected with its listeners
    private final ObservableList<ChatMessage> messagesView = FXCollections.unmodifiableObservableList(messages);
    private final ObservableList<SavedConversation> conversationsView = FXCollections.unmodifiableObservableList(conversations);
    private final StringProperty input = new SimpleStringProperty(this, "input", "");
    private final ReadOnlyObjectWrapper<SessionState> state = new ReadOnlyObjectWrapper<>(this, "state", SessionState.NO_MODEL);
    private final ReadOnlyBooleanWrapper answering = new ReadOnlyBooleanWrapper(this, "answering");
    private final ReadOnlyStringWrapper stage = new ReadOnlyStringWrapper(this, "stage", "");
    private final ReadOnlyDoubleWrapper stageProgress = new ReadOnlyDoubleWrapper(this, "stageProgress", -1);
    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper(this, "error");
    private final ReadOnlyStringWrapper notice = new ReadOnlyStringWrapper(this, "notice");
    private final ReadOnlyObjectWrapper<String> conversationId = new ReadOnlyObjectWrapper<>(this, "conversationId");
    private final ReadOnlyObjectWrapper<ChatMessage> latestAttention = new ReadOnlyObjectWrapper<>(this, "latestAttention");
    private final BooleanBinding canSend;
    private final BooleanBinding canRegenerate;
    private final BooleanBinding canClear;

    private String title;
    private long createdAt;
    private String imagePath;
    private String imageCopy;
    private RgbImage pastedImage;
    private CanvasMode conversationMode;
    private Answer current;
    private long lastSave;
    /** The draft sent last, until the service is done with it. */
    private TaskHandle<DraftResult> draft;
    /** The draft the service's cache holds (read, and nothing asked since): not sent again. */
    private ChatRequest draftRead;

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
    public ChatViewModel(VisionChatSession service, AppSettings settings, ImageViewModel image, ModelViewModel model,
                         ConversationStore store, Executor io, Executor ui, LongSupplier clock, Debouncer.Timer timer) {
        this.service = service;
        this.settings = settings;
        this.image = image;
        this.model = model;
        this.store = store;
        this.io = io;
        this.ui = ui;
        this.clock = clock;
        this.draftDelay = new Debouncer(timer, DRAFT_DELAY_MS, this::readDraft);
        model.stateProperty().addListener((o, a, b) -> recomputeState());
        model.infoProperty().addListener((o, a, b) -> recomputeState());
        answering.addListener((o, a, b) -> recomputeState());
        recomputeState();
        canSend = Bindings.createBooleanBinding(() -> !answering.get() && !input.get().isBlank() && model.infoProperty().get() != null
                && isServiceUsable(model.stateProperty().get()), answering, input, model.infoProperty(), model.stateProperty());
        canRegenerate = Bindings.createBooleanBinding(() -> !answering.get() && model.infoProperty().get() != null
                && isServiceUsable(model.stateProperty().get()) && !messages.isEmpty()
                && messages.get(messages.size() - 1).role() == ChatMessage.Role.ASSISTANT, answering, messages, model.infoProperty(),
                model.stateProperty());
        canClear = Bindings.createBooleanBinding(() -> !answering.get() && (!messages.isEmpty() || conversationId.get() != null),
                answering, messages, conversationId);

        input.addListener((o, a, b) -> draftEdited());
        settings.readWhileTypingProperty().addListener((o, a, on) -> {
            if (on) {
                draftEdited();
            } else {
                stopDraft();
            }
        });
        // what the service holds changed: the question typed so far is read again for it
        image.preprocessedProperty().addListener((o, a, b) -> forgetDraft());
        model.infoProperty().addListener((o, a, b) -> forgetDraft());
        answering.addListener((o, a, on) -> {
            if (!on) {
                forgetDraft(); // a follow-up typed while the answer was written
            }
        });
    }

    private static boolean isServiceUsable(SessionState s) {
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
        if (conversationId.get() == null) {
            startConversation(q);
        }
        messages.add(new ChatMessage(ChatMessage.Role.USER, q));
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

    /** Writes the last answer again (sampling settings may give a different one). */
    public void regenerate() {
        if (!canRegenerate.get()) {
            return;
        }
        GenerationConfig gen = generationOrShowError();
        if (gen == null) {
            return;
        }
        messages.remove(messages.size() - 1);
        ask(gen);
    }

    /** A new, empty conversation about the same image (the current one stays saved in the sidebar). */
    public void clear() {
        if (answering.get()) {
            return;
        }
        messages.clear();
        latestAttention.set(null);
        conversationId.set(null);
        title = null;
        imageCopy = null;
        imagePath = null;
        pastedImage = null;
        error.set(null);
        service.newConversation();
        forgetDraft();
    }

    /** The last answer's text, for the clipboard; empty when there is none. */
    public String lastAnswer() {
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i).role() == ChatMessage.Role.ASSISTANT) {
                return messages.get(i).text();
            }
        }
        return "";
    }

    public void dismissError() {
        error.set(null);
    }

    private void startConversation(String firstQuestion) {
        conversationId.set(ConversationStore.newId());
        String t = firstQuestion.replaceAll("\\s+", " ");
        title = t.length() > 60 ? t.substring(0, 59) + "\u2026" : t;
        createdAt = clock.getAsLong();
        conversationMode = settings.canvasModeProperty().get();
        Path p = image.sourcePathProperty().get();
        imagePath = p != null ? p.toAbsolutePath().toString() : null;
        // a pasted image has no file, and a PDF page is not what its file opens on: both are kept as a copy
        pastedImage = image.pastedProperty().get() || image.isDocumentPage() ? image.originalProperty().get() : null;
        imageCopy = null;
    }

    /** Every exchange shown, the last one pending when its answer is not there yet. */
    private List<Turn> turns() {
        List<Turn> turns = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (m.role() != ChatMessage.Role.USER) {
                continue;
            }
            boolean answered = i + 1 < messages.size() && messages.get(i + 1).role() == ChatMessage.Role.ASSISTANT;
            turns.add(new Turn(m.text(), answered ? messages.get(i + 1).text() : null));
        }
        return turns;
    }

    private void ask(GenerationConfig gen) {
        stopDraft();
        draftRead = null;
        List<Turn> turns = turns();
        ChatRequest request = new ChatRequest(turns, settings.systemPromptForRequest(), gen.withRecordAttention(RECORD_ATTENTION));
        ChatMessage answer = new ChatMessage(ChatMessage.Role.ASSISTANT, "");
        answer.setStreaming(true);
        messages.add(answer);
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
            TaskHandle<GenerationResult> h = service.ask(request, a);
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
            a.message.append(sb.toString());
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
            if (!r.text().isEmpty() || r.finishReason() != FinishReason.CANCELLED) {
                m.setText(r.text());
            }
            Timings t = r.timings();
            SavedConversation.Stats stats = new SavedConversation.Stats(t.timeToFirstTokenMs(), t.decodeTokensPerSecond(), r.promptTokens(),
                    r.imageTokens(), r.generatedIds().length, r.reusedPromptTokens());
            if (r.finishReason() == FinishReason.ERROR) {
                m.setError(r.error());
            }
            m.finish(r.finishReason().name(), stats, StatsText.of(stats, r.finishReason().name()));
            keepAttention(a, r);
        } else if (e != null) {
            String why = Errors.message(e);
            m.setError(why);
            m.finish(FinishReason.ERROR.name(), null, "failed");
        } else {
            m.finish(FinishReason.CANCELLED.name(), null, "stopped");
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
            a.message.setAttention(new HeatmapSource(maps, pre.canvas(), a.question));
        } catch (IllegalArgumentException e) {
            LOG.info("no heatmap for this answer: {}", e.getMessage());
            return;
        }
        int kept = 0;
        for (int i = messages.size() - 1; i >= 0; i--) {
            ChatMessage m = messages.get(i);
            if (m.attentionProperty().get() != null && ++kept > KEEP_ATTENTION_ANSWERS) {
                m.setAttention(null);
            }
        }
        latestAttention.set(a.message);
    }

    // ---- reading the question while it is typed ---------------------------------------------------

    /** The question was edited: it is read {@link #DRAFT_DELAY_MS} after the last edit. */
    private void draftEdited() {
        if (!settings.readWhileTypingProperty().get() || input.get() == null || input.get().isBlank()) {
            draftDelay.cancel();
            return;
        }
        draftDelay.restart();
    }

    /** The cache no longer holds the last draft read (new image, model, conversation or answer): read it again. */
    private void forgetDraft() {
        draftRead = null;
        draftEdited();
    }

    /** Stops the pause and the draft being read (the setting was turned off, or the question is sent). */
    private void stopDraft() {
        draftDelay.cancel();
        if (draft != null) {
            draft.cancel();
            draft = null;
        }
    }

    /** Sends the question typed so far to be read into the model, when the model is free to take it. */
    private void readDraft() {
        String q = input.get() == null ? "" : input.get().strip();
        if (q.isEmpty() || !settings.readWhileTypingProperty().get() || answering.get() || model.infoProperty().get() == null
                || !isServiceUsable(model.stateProperty().get()) || image.busyProperty().get()) {
            return; // read again when what stops it changes (answer finished, image ready, model loaded)
        }
        List<Turn> turns = turns();
        if (!turns.isEmpty() && turns.get(turns.size() - 1).assistant() == null) {
            return;
        }
        turns.add(Turn.pending(q)); // as send() will ask it
        ChatRequest request = ChatRequest.draft(turns, settings.systemPromptForRequest());
        if (request.equals(draftRead)) {
            return;
        }
        TaskHandle<DraftResult> h = service.readDraft(request);
        draft = h;
        h.result().whenComplete((r, e) -> ui.execute(() -> {
            if (draft != h) {
                return; // sent, stopped or superseded meanwhile
            }
            draft = null;
            draftRead = r != null && r.outcome() == DraftResult.Outcome.READ ? request : null;
        }));
    }

    // ---- persistence ------------------------------------------------------------------------------

    /** Saves the current conversation in the background (atomic write). No-op without one. */
    public CompletableFuture<Void> persist() {
        String id = conversationId.get();
        if (id == null || messages.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        RgbImage copyToWrite = null;
        if (pastedImage != null && imageCopy == null) {
            imageCopy = id + ".png";
            copyToWrite = pastedImage;
        }
        SavedConversation snapshot = snapshot();
        RgbImage copy = copyToWrite;
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                if (copy != null) {
                    store.saveImageCopy(id, copy);
                }
                store.save(snapshot);
                done.complete(null);
            } catch (IOException | RuntimeException ex) {
                LOG.warn("conversation {} could not be saved: {}", id, ex.getMessage());
                done.completeExceptionally(ex);
            }
        });
        upsertListed(snapshot);
        return done;
    }

    /** The current conversation as it would be saved now. */
    public Optional<SavedConversation> current() {
        return conversationId.get() == null ? Optional.empty() : Optional.of(snapshot());
    }

    private SavedConversation snapshot() {
        List<SavedConversation.Message> saved = new ArrayList<>();
        for (ChatMessage m : messages) {
            saved.add(m.toSaved());
        }
        SavedConversation.Generation g = new SavedConversation.Generation(settings.temperatureProperty().get(), settings.topPProperty().get(),
                settings.topKProperty().get(), settings.repetitionPenaltyProperty().get(), settings.maxNewTokensProperty().get(),
                settings.seedProperty().get(), settings.systemPromptProperty().get());
        CanvasMode mode = conversationMode != null ? conversationMode : settings.canvasModeProperty().get();
        return new SavedConversation(conversationId.get(), title, createdAt, clock.getAsLong(), imagePath, imageCopy, mode.name(), g, saved);
    }

    private void upsertListed(SavedConversation c) {
        for (int i = 0; i < conversations.size(); i++) {
            if (conversations.get(i).id().equals(c.id())) {
                if (i == 0) {
                    conversations.set(0, c);
                } else {
                    conversations.remove(i);
                    conversations.add(0, c);
                }
                return;
            }
        }
        conversations.add(0, c);
    }

    /** Reads the saved conversations (in the background) into the sidebar list. */
    public CompletableFuture<Void> reloadConversations() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            List<SavedConversation> all = store.list();
            ui.execute(() -> {
                conversations.setAll(all);
                done.complete(null);
            });
        });
        return done;
    }

    /** Shows a saved conversation, its image and its settings; follow-up questions continue it. */
    public void open(SavedConversation c) {
        if (answering.get() || c.id().equals(conversationId.get())) {
            return;
        }
        service.newConversation();
        draftRead = null;
        messages.clear();
        latestAttention.set(null);
        for (SavedConversation.Message m : c.messages()) {
            String footer = m.stats() != null ? StatsText.of(m.stats(), m.finish()) : StatsText.finishText(m.finish());
            messages.add(ChatMessage.fromSaved(m, footer));
        }
        conversationId.set(c.id());
        title = c.title();
        createdAt = c.createdAt();
        imagePath = c.imagePath();
        imageCopy = c.imageCopy();
        pastedImage = null;
        error.set(null);
        try {
            conversationMode = CanvasMode.valueOf(c.canvasMode());
            settings.canvasModeProperty().set(conversationMode);
        } catch (IllegalArgumentException | NullPointerException e) {
            conversationMode = settings.canvasModeProperty().get();
        }
        restoreSettings(c); // before the image: its pre-encode reads the conversation's system prompt
        Optional<Path> img = store.imageOf(c);
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

    /** Deletes a saved conversation (and its pasted-image copy); the open one becomes a new chat. */
    public CompletableFuture<Void> delete(SavedConversation c) {
        if (c.id().equals(conversationId.get())) {
            if (answering.get()) {
                return CompletableFuture.completedFuture(null);
            }
            clear();
        }
        conversations.removeIf(x -> x.id().equals(c.id()));
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                store.delete(c);
                done.complete(null);
            } catch (IOException e) {
                ui.execute(() -> error.set("Could not delete " + c.title() + ": " + e.getMessage()));
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** Exports the current conversation as Markdown or JSON (by the file's extension), the image beside it. */
    public CompletableFuture<Void> export(Path target) {
        Optional<SavedConversation> c = current();
        if (c.isEmpty()) {
            error.set("Nothing to export yet: ask a question first.");
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> saved = persist();
        CompletableFuture<Void> done = new CompletableFuture<>();
        saved.handle((x, e) -> null).thenRun(() -> io.execute(() -> {
            try {
                if (target.getFileName().toString().toLowerCase().endsWith(".json")) {
                    store.exportJson(c.get(), target);
                } else {
                    store.exportMarkdown(c.get(), target);
                }
                ui.execute(() -> notice.set("Exported to " + target));
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                ui.execute(() -> error.set("Export failed: " + e.getMessage()));
                done.completeExceptionally(e);
            }
        }));
        return done;
    }

    // ---- properties -------------------------------------------------------------------------------

    public ObservableList<ChatMessage> messages() {
        return messagesView;
    }

    public ObservableList<SavedConversation> conversations() {
        return conversationsView;
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
        return conversationId.getReadOnlyProperty();
    }

    /** The last answer that has a heatmap (null after New chat or opening a saved conversation). */
    public ReadOnlyObjectProperty<ChatMessage> latestAttentionProperty() {
        return latestAttention.getReadOnlyProperty();
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
