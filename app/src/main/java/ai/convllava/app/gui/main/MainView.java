package ai.convllava.app.gui.main;

import ai.convllava.app.gui.pages.PageSweepView;
import ai.convllava.app.gui.chat.ChatView;
import ai.convllava.app.gui.chat.ChatViewModel;
import ai.convllava.app.gui.common.Fxml;
import ai.convllava.app.gui.heatmap.HeatmapOverlay;
import ai.convllava.app.gui.heatmap.HeatmapView;
import ai.convllava.app.gui.image.ImageViewModel;
import ai.convllava.app.gui.image.PreviewView;
import ai.convllava.app.gui.image.TransferData;
import ai.convllava.app.gui.model.FirstRunViewModel;
import ai.convllava.app.gui.model.ModelViewModel;
import ai.convllava.app.gui.models.ModelManagerView;
import ai.convllava.app.gui.models.ModelManagerViewModel;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.app.gui.settings.SettingsView;
import ai.convllava.app.gui.settings.Theme;
import ai.convllava.app.gui.store.SavedConversation;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.SessionState;
import ai.convllava.model.api.image.CanvasMode;
import javafx.application.Platform;
import javafx.beans.binding.Bindings;
import javafx.collections.ListChangeListener;
import javafx.fxml.FXML;
import javafx.scene.Node;
import javafx.scene.Parent;
import javafx.scene.Scene;
import javafx.scene.control.Alert;
import javafx.scene.control.Button;
import javafx.scene.control.CheckMenuItem;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.ListView;
import javafx.scene.control.Menu;
import javafx.scene.control.MenuBar;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.SeparatorMenuItem;
import javafx.scene.control.SplitPane;
import javafx.scene.control.TextArea;
import javafx.scene.control.TextInputControl;
import javafx.scene.input.Clipboard;
import javafx.scene.input.DragEvent;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyCombination;
import javafx.scene.input.KeyEvent;
import javafx.scene.input.TransferMode;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import javafx.stage.DirectoryChooser;
import javafx.stage.FileChooser;
import javafx.stage.Stage;
import javafx.stage.Window;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * The main window: menus and shortcuts, model bar, sidebar of saved conversations, preview and chat.
 * Binds to {@link MainViewModel}; file choosers, drag and drop and the clipboard are the only things
 * it does itself.
 */
public final class MainView {
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("d MMM yyyy, HH:mm").withZone(ZoneId.systemDefault());
    private static final KeyCombination PASTE = KeyCombination.keyCombination("Shortcut+V");

    @FXML private BorderPane root;
    @FXML private MenuBar menuBar;
    @FXML private MenuItem stopItem;
    @FXML private MenuItem previousPageItem;
    @FXML private MenuItem nextPageItem;
    @FXML private MenuItem sendItem;
    @FXML private MenuItem regenerateItem;
    @FXML private MenuItem askEveryPageItem;
    @FXML private MenuItem newChatItem;
    @FXML private MenuItem cancelLoadItem;
    @FXML private MenuItem chooseTowerItem;
    @FXML private Menu recentModelsMenu;
    @FXML private CheckMenuItem gridItem;
    @FXML private CheckMenuItem nativeItem;
    @FXML private CheckMenuItem originalItem;
    @FXML private CheckMenuItem heatmapItem;
    @FXML private CheckMenuItem darkItem;
    @FXML private HBox modelBar;
    @FXML private Label modelInfo;
    @FXML private ProgressBar loadProgress;
    @FXML private Label loadText;
    @FXML private Button cancelLoadButton;
    @FXML private ChoiceBox<Device> deviceChoice;
    @FXML private Button chooseModelButton;
    @FXML private HBox modelErrorBox;
    @FXML private Label modelError;
    @FXML private Button chooseAnotherButton;
    @FXML private Button chooseTowerButton;
    @FXML private Button smallerWeightsButton;
    @FXML private Button retryButton;
    @FXML private VBox firstRunBox;
    @FXML private Label firstRunText;
    @FXML private Label firstRunEstimate;
    @FXML private Button useDemoButton;
    @FXML private Button firstRunDownloadButton;
    @FXML private SplitPane split;
    @FXML private SplitPane workSplit;
    @FXML private VBox sidebar;
    @FXML private ListView<SavedConversation> conversationList;
    @FXML private Button deleteButton;
    @FXML private MenuItem undoDeleteItem;
    @FXML private HBox undoDeleteBox;
    @FXML private Label undoDeleteLabel;
    @FXML private StackPane previewHolder;
    @FXML private StackPane chatHolder;
    @FXML private Label stateLabel;

    private final MainViewModel vm;
    private final PreviewView preview;
    private final ChatView chatView;
    private final HeatmapView heatmapView;
    private Runnable onQuit = Platform::exit;
    private boolean selectingProgrammatically;

    public MainView(MainViewModel vm) {
        this.vm = vm;
        Fxml.load("MainView.fxml", this);
        preview = new PreviewView(vm.image());
        chatView = new ChatView(vm.chat());
        heatmapView = new HeatmapView(vm.heatmap());
        preview.setOverlay(new HeatmapOverlay(vm.heatmap()));
        chatView.setOnShowHeatmap((m, piece) -> vm.heatmap().open(m, piece));
        VBox previewColumn = new VBox(preview.root(), heatmapView.root());
        VBox.setVgrow(preview.root(), Priority.ALWAYS);
        previewHolder.getChildren().add(previewColumn);
        chatHolder.getChildren().add(chatView.root());
        bind();
        PaneLayout.attach(split, workSplit, chatView.root(), vm.settings());
    }

    public Parent root() {
        return root;
    }

    public PreviewView preview() {
        return preview;
    }

    public ChatView chatView() {
        return chatView;
    }

    public HeatmapView heatmapView() {
        return heatmapView;
    }

    public ListView<SavedConversation> conversationList() {
        return conversationList;
    }

    public SplitPane split() {
        return split;
    }

    public void setOnQuit(Runnable r) {
        onQuit = r;
    }

    private void bind() {
        ModelViewModel model = vm.model();
        ChatViewModel chat = vm.chat();
        ImageViewModel image = vm.image();
        AppSettings settings = vm.settings();

        modelInfo.textProperty().bind(model.infoTextProperty());
        loadProgress.progressProperty().bind(model.progressProperty());
        loadText.textProperty().bind(model.progressTextProperty());
        for (var n : new Node[] {loadProgress, loadText, cancelLoadButton}) {
            n.visibleProperty().bind(model.loadingProperty());
            n.managedProperty().bind(n.visibleProperty());
        }
        cancelLoadItem.disableProperty().bind(model.loadingProperty().not());
        settings.recentModelsProperty().addListener((ListChangeListener<String>) c -> fillRecentModels());
        fillRecentModels();
        deviceChoice.getItems().setAll(Device.values());
        deviceChoice.setConverter(SettingsView.namedBy(SettingsView::shortLabel)); // the FXML's help says what Auto does
        deviceChoice.valueProperty().bindBidirectional(settings.deviceProperty());
        settings.deviceProperty().addListener((o, a, b) -> {
            if (model.hasModelFolder()) {
                model.load();
            }
        });
        modelError.textProperty().bind(model.errorProperty());
        modelErrorBox.visibleProperty().bind(model.errorProperty().isNotNull());
        modelErrorBox.managedProperty().bind(modelErrorBox.visibleProperty());
        chooseTowerButton.visibleProperty().bind(model.visionTowerProblemProperty());
        chooseTowerButton.managedProperty().bind(chooseTowerButton.visibleProperty());
        smallerWeightsButton.visibleProperty().bind(model.canUseSmallerWeightsProperty());
        smallerWeightsButton.managedProperty().bind(smallerWeightsButton.visibleProperty());
        retryButton.visibleProperty().bind(Bindings.createBooleanBinding(model::hasModelFolder, model.errorProperty()));
        retryButton.managedProperty().bind(retryButton.visibleProperty());
        bindFirstRun(vm.firstRun());

        stopItem.disableProperty().bind(chat.canStopProperty().not());
        previousPageItem.disableProperty().bind(image.canGoToPreviousPageProperty().not());
        nextPageItem.disableProperty().bind(image.canGoToNextPageProperty().not());
        sendItem.disableProperty().bind(chat.canSendProperty().not());
        regenerateItem.disableProperty().bind(chat.canRegenerateProperty().not());
        askEveryPageItem.disableProperty().bind(Bindings.createBooleanBinding(
                () -> image.pageCountProperty().get() < 2 || chat.answeringProperty().get() || model.infoProperty().get() == null,
                image.pageCountProperty(), chat.answeringProperty(), model.infoProperty()));
        newChatItem.disableProperty().bind(chat.canClearProperty().not());

        gridItem.selectedProperty().bindBidirectional(settings.showGridProperty());
        nativeItem.setSelected(settings.canvasModeProperty().get() == CanvasMode.NATIVE);
        nativeItem.selectedProperty().addListener((o, a, on) -> settings.canvasModeProperty().set(on ? CanvasMode.NATIVE : CanvasMode.PAD));
        settings.canvasModeProperty().addListener((o, a, m) -> nativeItem.setSelected(m == CanvasMode.NATIVE));
        originalItem.selectedProperty().bindBidirectional(image.showOriginalProperty());
        heatmapItem.selectedProperty().bindBidirectional(vm.heatmap().shownProperty());
        darkItem.setSelected(settings.themeProperty().get() == Theme.DARK);
        darkItem.selectedProperty().addListener((o, a, on) -> settings.themeProperty().set(on ? Theme.DARK : Theme.LIGHT));
        settings.themeProperty().addListener((o, a, t) -> darkItem.setSelected(t == Theme.DARK));

        stateLabel.textProperty().bind(Bindings.createStringBinding(() -> stateText(chat.stateProperty().get()), chat.stateProperty()));

        conversationList.setItems(chat.conversations());
        conversationList.setCellFactory(lv -> new ConversationCell());
        conversationList.getSelectionModel().selectedItemProperty().addListener((o, a, c) -> {
            if (c != null && !selectingProgrammatically) {
                chat.open(c);
            }
        });
        chat.conversationIdProperty().addListener((o, a, id) -> selectCurrent());
        chat.conversations().addListener((ListChangeListener<SavedConversation>) c -> Platform.runLater(this::selectCurrent));
        conversationList.setOnKeyPressed(e -> {
            if (e.getCode() == KeyCode.DELETE) {
                onDeleteConversation();
            }
        });
        deleteButton.disableProperty().bind(conversationList.getSelectionModel().selectedItemProperty().isNull());
        undoDeleteBox.visibleProperty().bind(chat.deletedProperty().isNotNull());
        undoDeleteBox.managedProperty().bind(undoDeleteBox.visibleProperty());
        undoDeleteItem.disableProperty().bind(chat.deletedProperty().isNull());
        undoDeleteLabel.textProperty().bind(Bindings.createStringBinding(() -> chat.deletedProperty().get() == null ? ""
                : "Deleted \u201c" + chat.deletedProperty().get().title() + "\u201d", chat.deletedProperty()));

        root.setOnDragOver(this::dragOver);
        root.setOnDragExited(e -> preview.viewport().getStyleClass().remove("drop-target"));
        root.setOnDragDropped(this::dragDropped);
        root.addEventFilter(KeyEvent.KEY_PRESSED, this::pasteFilter);
        root.addEventFilter(KeyEvent.KEY_PRESSED, this::menuShortcutFilter);
    }

    /**
     * The menus' shortcuts while a text field has the focus (the question box, the page number): the
     * field's own key bindings would otherwise take some of them first (Ctrl+H deletes a character) and
     * the menu would never see them. Shortcut+V stays the field's paste (an image on the clipboard is
     * {@link #pasteFilter}'s); a disabled item's key is left to the field.
     */
    private void menuShortcutFilter(KeyEvent e) {
        if (e.isConsumed() || !(root.getScene().getFocusOwner() instanceof TextInputControl) || PASTE.match(e)) {
            return;
        }
        for (MenuItem item : menuItems()) {
            if (item.getAccelerator() != null && item.getAccelerator().match(e) && !item.isDisable()) {
                e.consume();
                if (item instanceof CheckMenuItem c) {
                    c.setSelected(!c.isSelected()); // what the menu bar does for a check item's accelerator
                }
                item.fire();
                return;
            }
        }
    }

    /** Every item of the menu bar, in menu order (the shortcut list is made from their accelerators). */
    public List<MenuItem> menuItems() {
        List<MenuItem> items = new ArrayList<>();
        for (Menu m : menuBar.getMenus()) {
            for (MenuItem i : m.getItems()) {
                if (!(i instanceof SeparatorMenuItem)) {
                    items.add(i);
                }
            }
        }
        return items;
    }

    private void bindFirstRun(FirstRunViewModel firstRun) {
        firstRunBox.visibleProperty().bind(firstRun.shownProperty());
        firstRunBox.managedProperty().bind(firstRunBox.visibleProperty());
        firstRunText.textProperty().bind(firstRun.sentenceProperty());
        firstRunEstimate.textProperty().bind(firstRun.estimateProperty());
        useDemoButton.visibleProperty().bind(firstRun.demoModelProperty().isNotNull());
        useDemoButton.managedProperty().bind(useDemoButton.visibleProperty());
        firstRunDownloadButton.setText("Download ConvLLaVA-" + firstRun.suggested().id() + "\u2026");
    }

    /** Model > Recent models: each folder that loaded, newest first; choosing one checks it again like a chosen folder. */
    private void fillRecentModels() {
        recentModelsMenu.getItems().clear();
        for (String dir : vm.settings().recentModelsProperty()) {
            Path p;
            try {
                p = Path.of(dir);
            } catch (InvalidPathException e) {
                continue; // a hand-edited settings file: not a path on this system
            }
            MenuItem item = new MenuItem(p.getFileName() == null ? dir : p.getFileName() + "  \u2014  " + dir);
            item.setMnemonicParsing(false);
            item.setOnAction(e -> vm.model().chooseModelFolder(p));
            recentModelsMenu.getItems().add(item);
        }
        recentModelsMenu.setDisable(recentModelsMenu.getItems().isEmpty());
    }

    /** Model > Recent models (for tests: its items choose their folder). */
    public Menu recentModelsMenu() {
        return recentModelsMenu;
    }

    private void selectCurrent() {
        String id = vm.chat().conversationIdProperty().get();
        selectingProgrammatically = true;
        try {
            if (id == null) {
                conversationList.getSelectionModel().clearSelection();
                return;
            }
            for (SavedConversation c : conversationList.getItems()) {
                if (c.id().equals(id)) {
                    conversationList.getSelectionModel().select(c);
                    return;
                }
            }
        } finally {
            selectingProgrammatically = false;
        }
    }

    /** The status bar's words for what the model is doing. */
    public static String stateText(SessionState s) {
        switch (s) {
            case NO_MODEL:
                return "No model \u00b7 image preview only";
            case LOADING:
                return "Loading model\u2026";
            case READY:
                return "Ready";
            case ENCODING:
                return "Encoding image\u2026";
            case READING_DRAFT:
                return "Reading your question\u2026";
            case GENERATING:
                return "Answering\u2026";
            default:
                return "Model error";
        }
    }

    /** Applies the theme's variables and the components' stylesheet to a scene. */
    public static void applyTheme(Scene scene, Theme theme) {
        scene.getStylesheets().setAll(
                MainView.class.getResource(theme.stylesheet()).toExternalForm(),
                MainView.class.getResource("/ai/convllava/ui/css/app.css").toExternalForm());
    }

    // ---- drag and drop, paste ---------------------------------------------------------------------

    private void dragOver(DragEvent e) {
        if (e.getGestureSource() == null && TransferData.of(e.getDragboard()).hasSomething()) {
            e.acceptTransferModes(TransferMode.COPY_OR_MOVE);
            if (!preview.viewport().getStyleClass().contains("drop-target")) {
                preview.viewport().getStyleClass().add("drop-target");
            }
        }
        e.consume();
    }

    private void dragDropped(DragEvent e) {
        preview.viewport().getStyleClass().remove("drop-target");
        e.setDropCompleted(handleTransfer(TransferData.of(e.getDragboard())));
        e.consume();
    }

    /** What a drop or a paste does (the handler a DragEvent reaches; tests call it with their own content). */
    public boolean handleTransfer(TransferData data) {
        return vm.accept(data);
    }

    /** Ctrl+V anywhere: an image or image file on the clipboard goes to the preview, text pastes as usual. */
    private void pasteFilter(KeyEvent e) {
        if (!PASTE.match(e)) {
            return;
        }
        Clipboard cb = Clipboard.getSystemClipboard();
        if (cb.hasImage() || cb.hasFiles()) {
            e.consume();
            handleTransfer(TransferData.of(cb));
        }
    }

    // ---- menu and button actions ------------------------------------------------------------------

    private Window window() {
        return root.getScene().getWindow();
    }

    @FXML
    private void onOpenImage() {
        FileChooser fc = new FileChooser();
        fc.setTitle("Open image");
        fc.getExtensionFilters().addAll(new FileChooser.ExtensionFilter("Images and PDF documents", "*.png", "*.jpg", "*.jpeg", "*.gif",
                "*.bmp", "*.webp", "*.pdf", "*.PNG", "*.JPG", "*.JPEG", "*.GIF", "*.BMP", "*.WEBP", "*.PDF"),
                new FileChooser.ExtensionFilter("All files", "*"));
        Path current = vm.image().sourcePathProperty().get();
        if (current != null && current.getParent() != null) {
            fc.setInitialDirectory(current.getParent().toFile());
        }
        File f = fc.showOpenDialog(window());
        if (f != null) {
            vm.openImage(f.toPath());
        }
    }

    @FXML
    private void onPasteImage() {
        handleTransfer(TransferData.of(Clipboard.getSystemClipboard()));
    }

    @FXML
    private void onExportMarkdown() {
        export("Markdown", "*.md", ".md");
    }

    @FXML
    private void onExportJson() {
        export("JSON", "*.json", ".json");
    }

    private void export(String what, String pattern, String ext) {
        FileChooser fc = new FileChooser();
        fc.setTitle("Export conversation as " + what);
        fc.getExtensionFilters().add(new FileChooser.ExtensionFilter(what, pattern));
        fc.setInitialFileName(vm.chat().current().map(c -> c.title().replaceAll("[^A-Za-z0-9 _-]", "").strip()).filter(s -> !s.isEmpty())
                .orElse("conversation") + ext);
        File f = fc.showSaveDialog(window());
        if (f != null) {
            Path p = f.toPath();
            vm.chat().export(p.getFileName().toString().endsWith(ext) ? p : p.resolveSibling(p.getFileName() + ext));
        }
    }

    @FXML
    private void onAskEveryPage() {
        vm.newPageSweep().ifPresent(sweep -> new PageSweepView(sweep, window()).show(vm.chat().inputProperty().get()));
    }

    @FXML
    private void onSettings() {
        vm.chat().refreshHeatmapUsage();
        new SettingsView(vm.settings(), vm.model().infoProperty().get(), vm.model().memoryPlanProperty().get())
                .withHeatmapUsage(vm.chat().heatmapUsageProperty()).withEngine(vm.newEngineSettings()).showDialog(window());
    }

    @FXML
    private void onQuit() {
        onQuit.run();
    }

    @FXML
    private void onChooseModel() {
        DirectoryChooser dc = new DirectoryChooser();
        dc.setTitle("Choose a ConvLLaVA model folder (ConvLLaVA-sft-1536, -1024 or -768)");
        dc.setInitialDirectory(vm.model().chooserStartFolder().toFile());
        File f = dc.showDialog(window());
        if (f != null) {
            vm.model().chooseModelFolder(f.toPath());
        }
    }

    @FXML
    private void onModelManager() {
        if (modelManager != null && modelManager.isShowing()) {
            modelManager.toFront();
            return;
        }
        ModelManagerViewModel mm = vm.newModelManager();
        modelManager = ModelManagerView.show(window(), mm, root.getScene().getStylesheets());
        modelManager.setOnHidden(e -> mm.dispose());
    }

    private Stage modelManager;

    @FXML
    private void onUseSmallerWeights() {
        vm.model().useSmallerWeights();
    }

    @FXML
    private void onChooseTower() {
        DirectoryChooser dc = new DirectoryChooser();
        dc.setTitle("Choose the ConvLLaVA-ConvNeXt vision tower folder");
        dc.setInitialDirectory(vm.model().chooserStartFolder().toFile());
        File f = dc.showDialog(window());
        if (f != null) {
            vm.model().chooseVisionTower(f.toPath());
        }
    }

    @FXML
    private void onReloadModel() {
        vm.model().load();
    }

    @FXML
    private void onCancelLoad() {
        vm.model().cancelLoad();
    }

    @FXML
    private void onDismissModelError() {
        vm.model().dismissError();
    }

    @FXML
    private void onSend() {
        vm.chat().send();
    }

    @FXML
    private void onStop() {
        vm.chat().stop();
    }

    @FXML
    private void onRegenerate() {
        vm.chat().regenerate();
    }

    @FXML
    private void onCopy() {
        chatView.copyLastAnswer();
    }

    @FXML
    private void onNewChat() {
        vm.chat().clear();
        chatView.questionArea().requestFocus();
    }

    @FXML
    private void onDeleteConversation() {
        SavedConversation c = conversationList.getSelectionModel().getSelectedItem();
        if (c != null) {
            vm.chat().delete(c);
        }
    }

    @FXML
    private void onUseDemoModel() {
        vm.firstRun().useDemoModel();
    }

    @FXML
    private void onUndoDelete() {
        vm.chat().undoDelete();
    }

    @FXML
    private void onDismissUndoDelete() {
        vm.chat().dismissUndoDelete();
    }

    @FXML
    private void onPreviousPage() {
        vm.image().previousPage();
    }

    @FXML
    private void onNextPage() {
        vm.image().nextPage();
    }

    @FXML
    private void onZoomIn() {
        vm.image().zoomIn();
    }

    @FXML
    private void onZoomOut() {
        vm.image().zoomOut();
    }

    @FXML
    private void onZoomFit() {
        vm.image().zoomFit();
    }

    /** Help > Self-test: the view-model runs it in the background; its report in a dialog. */
    @FXML
    private void onSelfTest() {
        TextArea report = new TextArea("Running the self-test on the bundled tiny model\u2026");
        report.setEditable(false);
        report.setWrapText(true);
        report.setPrefSize(640, 320);
        Alert dialog = new Alert(Alert.AlertType.INFORMATION);
        dialog.initOwner(window());
        dialog.setTitle("Self-test");
        dialog.setHeaderText("Self-test running\u2026");
        dialog.getDialogPane().setContent(report);
        dialog.show();
        vm.selfTest().whenComplete((r, e) -> Platform.runLater(() -> {
            dialog.setHeaderText(r != null && r.passed() ? "Self-test passed" : "Self-test FAILED");
            report.setText(r != null ? r.text() : "The self-test could not run: " + e);
        }));
    }

    /** Help > Keyboard shortcuts: every menu's shortcut (read from the menus) and the question box's keys. */
    @FXML
    private void onKeyboardShortcuts() {
        if (shortcuts != null && shortcuts.isShowing()) {
            shortcuts.toFront();
            return;
        }
        shortcuts = ShortcutsView.show(window(), menuItems());
    }

    private Stage shortcuts;

    /** A saved conversation in the sidebar: its title and when it was last updated. */
    private static final class ConversationCell extends ListCell<SavedConversation> {
        @Override
        protected void updateItem(SavedConversation c, boolean empty) {
            super.updateItem(c, empty);
            if (empty || c == null) {
                setText(null);
                setGraphic(null);
                setAccessibleText(null);
                return;
            }
            Label title = new Label(c.title());
            title.setWrapText(false);
            Label date = new Label(DATE.format(Instant.ofEpochMilli(c.updatedAt())) + " \u00b7 " + c.messages().size() + " messages");
            date.getStyleClass().add("conversation-date");
            VBox box = new VBox(2, title, date);
            setPrefWidth(0);
            setText(null);
            setGraphic(box);
            setAccessibleText(c.title());
        }
    }
}
