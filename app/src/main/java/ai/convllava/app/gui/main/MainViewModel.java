package ai.convllava.app.gui.main;

import ai.convllava.app.gui.chat.ChatViewModel;
import ai.convllava.app.gui.common.Debouncer;
import ai.convllava.app.gui.common.Errors;
import ai.convllava.app.gui.conversation.ConversationLibrary;
import ai.convllava.app.gui.heatmap.HeatmapViewModel;
import ai.convllava.app.gui.image.FxImages;
import ai.convllava.app.gui.image.ImageViewModel;
import ai.convllava.app.gui.image.TransferData;
import ai.convllava.app.gui.model.FirstRunViewModel;
import ai.convllava.app.gui.model.ModelViewModel;
import ai.convllava.app.gui.models.ModelManagerViewModel;
import ai.convllava.app.gui.pages.PageSweepViewModel;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.settings.EngineViewModel;
import ai.convllava.app.gui.store.ConversationStore;
import ai.convllava.app.selftest.SelfTest;
import ai.convllava.hub.ModelManager;
import ai.convllava.model.api.MachineSpeed;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.ImageFiles;
import ai.convllava.model.api.image.RgbImage;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The window's view-model: the model, image and chat view-models and what ties them together (a new
 * image starts a new conversation; a loaded model re-runs the preview with its canvas).
 */
public final class MainViewModel {
    private final AppSettings settings;
    private final ModelViewModel model;
    private final ImageViewModel image;
    private final ChatViewModel chat;
    private final HeatmapViewModel heatmap;
    private final FirstRunViewModel firstRun;

    private final Executor background;
    private final Executor ui;
    private final Supplier<ModelManager> hub;
    private final VisionChatSession service;

    /**
     * @param ui    runs on the UI thread
     * @param timer pauses on the UI thread (debouncing what is typed); {@link Debouncer.Timer#fx()} in the app
     */
    public MainViewModel(VisionChatSession service, AppSettings settings, ConversationStore store, Executor io, Executor ui,
                         LongSupplier clock, Debouncer.Timer timer) {
        this(service, settings, store, io, ui, clock, timer, io, ModelManager::fromEnvironment);
    }

    /**
     * @param background for work that may take long and must not wait behind saving (the self-test, the model manager's downloads)
     * @param hub        the published models' cache, made when the model manager opens
     */
    public MainViewModel(VisionChatSession service, AppSettings settings, ConversationStore store, Executor io, Executor ui,
                         LongSupplier clock, Debouncer.Timer timer, Executor background, Supplier<ModelManager> hub) {
        this(service, settings, store, io, ui, clock, timer, background, hub, Probes.REAL);
    }

    /**
     * What the app finds out about this computer and its files, replaceable in tests.
     *
     * @param folderCheck reads a chosen model folder before it replaces the model in use
     * @param machine     measures this computer for the first start's speed estimate
     * @param demoModel   the bundled demo model's folder, if the installation has one
     */
    public record Probes(ModelViewModel.FolderCheck folderCheck, Supplier<MachineSpeed> machine, Supplier<Optional<Path>> demoModel) {
        public static final Probes REAL = new Probes(ModelViewModel.FolderCheck.ENGINE, MachineSpeed::measure, FirstRunViewModel::bundledDemoModel);
    }

    public MainViewModel(VisionChatSession service, AppSettings settings, ConversationStore store, Executor io, Executor ui,
                         LongSupplier clock, Debouncer.Timer timer, Executor background, Supplier<ModelManager> hub, Probes probes) {
        this.background = background;
        this.ui = ui;
        this.hub = hub;
        this.service = service;
        this.settings = settings;
        this.model = new ModelViewModel(service, settings, ui, background, probes.folderCheck());
        this.firstRun = new FirstRunViewModel(model, settings, background, ui, probes.machine(), probes.demoModel());
        this.image = new ImageViewModel(service, settings, io, ui);
        this.chat = new ChatViewModel(service, settings, image, model, new ConversationLibrary(store, io, ui), ui, clock, timer);
        this.heatmap = new HeatmapViewModel(chat.latestAttentionProperty(), image.preprocessedProperty(), image.showOriginalProperty(), io, ui);
        model.setOnLoaded(image::update);
    }

    /** At start: the trash emptied, the heatmaps within their cap, saved conversations, the remembered model, the image given on the command line. */
    public void start(Path initialImage) {
        chat.emptyTrash();
        chat.applyHeatmapCap();
        chat.reloadConversations();
        firstRun.start();
        if (model.hasModelFolder()) {
            model.load();
        }
        if (initialImage != null) {
            openImage(initialImage);
        }
    }

    /** A new image: the conversation about the previous one stays saved and a new one begins. */
    public CompletableFuture<Void> openImage(Path file) {
        if (chat.answeringProperty().get()) {
            image.reject("Wait for the answer (or press Esc to stop it) before changing the image.");
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = image.openFile(file);
        return f.thenRun(this::newChatIfNeeded);
    }

    public void setImage(RgbImage rgb, String name) {
        if (chat.answeringProperty().get()) {
            image.reject("Wait for the answer (or press Esc to stop it) before changing the image.");
            return;
        }
        image.setImage(rgb, name);
        newChatIfNeeded();
    }

    private void newChatIfNeeded() {
        if (!chat.messages().isEmpty()) {
            chat.clear();
        }
    }

    /**
     * A drop or paste: a local file (or {@code file:} URL), else image content. Returns false when there
     * was nothing usable (the inline message says why).
     */
    public boolean accept(TransferData data) {
        for (File f : data.files()) {
            if (Files.isRegularFile(f.toPath())) {
                openImage(f.toPath());
                return true;
            }
        }
        if (data.url() != null && data.url().toLowerCase(Locale.ROOT).startsWith("file:")) {
            try {
                Path p = Path.of(URI.create(data.url().strip()));
                if (Files.isRegularFile(p)) {
                    openImage(p);
                    return true;
                }
            } catch (IllegalArgumentException e) {
                // fall through to image content
            }
        }
        if (data.image() != null && !data.image().isError()) {
            try {
                setImage(FxImages.fromFx(data.image()), "pasted image");
                return true;
            } catch (RuntimeException | OutOfMemoryError e) {
                image.reject("The pasted image could not be read: " + Errors.message(e));
                return false;
            }
        }
        if (!data.files().isEmpty()) {
            image.reject(data.files().get(0) + " is not a file that can be opened (a folder?). Drop an image file: " + ImageFiles.SUPPORTED + ".");
        } else if (data.url() != null) {
            image.reject("Web images are not downloaded (the app works offline): save the image, then drop the file, or copy the image itself.");
        } else {
            image.reject("Nothing to use here: drop or paste an image (" + ImageFiles.SUPPORTED + ") or an image file.");
        }
        return false;
    }

    /** The model manager window's view-model: downloads on the background executor; "use" loads the model. */
    public ModelManagerViewModel newModelManager() {
        ModelManagerViewModel mm = new ModelManagerViewModel(hub.get(), background, ui, MachineSpeed::measure, model.engineBusyProperty());
        mm.setOnUse((m, tower) -> model.useDownloaded(m, tower));
        return mm;
    }

    /**
     * Chat > Ask about every page, for the open PDF: its answers per page; when a run ends the session gets
     * back the page the preview shows. Empty when the image is not a page of a PDF with several pages.
     */
    public Optional<PageSweepViewModel> newPageSweep() {
        Path pdf = image.sourcePathProperty().get();
        int pages = image.pageCountProperty().get();
        if (pdf == null || pages < 2) {
            return Optional.empty();
        }
        return Optional.of(new PageSweepViewModel(service, settings, pdf, pages, background, ui, image::showPage, image::update));
    }

    /** Settings > Engine's view-model: what it finds out, and the opt-in download, on the background executor. */
    public EngineViewModel newEngineSettings() {
        return new EngineViewModel(settings, background, ui, EngineViewModel.Probe.ENGINE);
    }

    /** Help > Self-test on the bundled tiny model, in the background: its exit code and report. */
    public CompletableFuture<SelfTestReport> selfTest() {
        return CompletableFuture.supplyAsync(() -> {
            StringWriter text = new StringWriter();
            PrintWriter writer = new PrintWriter(text, true);
            int code = SelfTest.run(SelfTest.Options.defaults(), writer, writer);
            return new SelfTestReport(code == 0, text.toString());
        }, background);
    }

    /** What Help > Self-test shows. */
    public record SelfTestReport(boolean passed, String text) {
    }

    public AppSettings settings() {
        return settings;
    }

    public ModelViewModel model() {
        return model;
    }

    public ImageViewModel image() {
        return image;
    }

    public ChatViewModel chat() {
        return chat;
    }

    public HeatmapViewModel heatmap() {
        return heatmap;
    }

    /** The way to a working model while there is none. */
    public FirstRunViewModel firstRun() {
        return firstRun;
    }
}
