package ai.convllava.app.gui.models;

import ai.convllava.hub.ModelStatus;
import ai.convllava.model.api.WeightFormat;
import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.geometry.Rectangle2D;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.ScrollPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.stage.Modality;
import javafx.stage.Screen;
import javafx.stage.Stage;
import javafx.stage.Window;

import java.util.List;

/**
 * The "Download models" window: one panel per published size with its costs, state, progress
 * (bytes, speed, time left) and actions. Only binds to {@link ModelManagerViewModel}.
 */
public final class ModelManagerView {
    private final VBox root = new VBox();

    public ModelManagerView(ModelManagerViewModel vm) {
        root.getStyleClass().add("model-manager");
        root.setPadding(new Insets(12));
        root.setSpacing(10);
        Label intro = new Label("ConvLLaVA models are downloaded from the Hugging Face Hub into " + vm.cacheFolder()
                + " (shared with Python tools). Downloads resume after an interruption and every file is checked before use."
                + " Set HF_ENDPOINT for a mirror and HF_TOKEN if the Hub asks for a login.");
        intro.setWrapText(true);
        intro.setMinHeight(Label.USE_PREF_SIZE);
        intro.getStyleClass().add("model-manager-intro");
        root.getChildren().add(intro);
        for (ModelManagerViewModel.Row r : vm.rows()) {
            root.getChildren().add(row(vm, r));
        }
        vm.refresh();
    }

    private static Node row(ModelManagerViewModel vm, ModelManagerViewModel.Row r) {
        Label title = new Label(r.title());
        title.getStyleClass().add("model-title");
        Label speed = new Label();
        speed.textProperty().bind(r.speedProperty());
        speed.setWrapText(true);
        speed.getStyleClass().add("model-speed");
        Label memory = new Label();
        memory.textProperty().bind(r.memoryProperty());
        memory.setWrapText(true);
        memory.getStyleClass().add("model-memory");
        Label weights = new Label();
        weights.textProperty().bind(r.weightsProperty());
        weights.setWrapText(true);
        weights.visibleProperty().bind(r.weightsProperty().isNotEmpty());
        weights.managedProperty().bind(weights.visibleProperty());
        weights.getStyleClass().add("model-weights");
        Label status = new Label();
        status.textProperty().bind(r.statusProperty());
        status.setWrapText(true);
        status.getStyleClass().add("model-status");
        Label error = new Label();
        error.textProperty().bind(r.errorProperty());
        error.visibleProperty().bind(r.errorProperty().isNotEmpty());
        error.managedProperty().bind(error.visibleProperty());
        error.setWrapText(true);
        error.getStyleClass().add("error-text");
        ProgressBar bar = new ProgressBar();
        bar.progressProperty().bind(r.progressProperty());
        bar.setMaxWidth(Double.MAX_VALUE);
        HBox.setHgrow(bar, Priority.ALWAYS);
        bar.setAccessibleText("Download progress of ConvLLaVA-" + r.variant().id());

        Button download = button("Download", "Download or resume ConvLLaVA-" + r.variant().id(), () -> vm.download(r));
        download.disableProperty().bind(r.busyProperty().or(Bindings.createBooleanBinding(r::installed, r.stateProperty())));
        Button cancel = button("Cancel", "Stop the download (partial files are kept) or the making of 8/4-bit weights", () -> vm.cancel(r));
        cancel.disableProperty().bind(r.busyProperty().not());
        Button use = button("Use", "Load ConvLLaVA-" + r.variant().id() + " with its vision tower", () -> vm.use(r));
        use.getStyleClass().add("default-action");
        use.disableProperty().bind(r.busyProperty().or(r.stateProperty().isNotEqualTo(ModelStatus.State.INSTALLED)));
        Button verify = button("Verify", "Re-check every file's checksum", () -> vm.verify(r));
        verify.disableProperty().bind(r.busyProperty().or(r.stateProperty().isEqualTo(ModelStatus.State.NOT_INSTALLED)));
        Button remove = button("Remove", "Delete this size from the cache", () -> vm.remove(r));
        remove.disableProperty().bind(r.busyProperty().or(r.stateProperty().isEqualTo(ModelStatus.State.NOT_INSTALLED)));

        Button make8 = button("Make 8-bit", "Make the 8-bit weights of ConvLLaVA-" + r.variant().id()
                + ": about half the memory, weights off by about 0.5% (RMS), loaded in seconds", () -> vm.makeWeights(r, WeightFormat.Q8_0));
        make8.disableProperty().bind(r.busyProperty().or(r.stateProperty().isNotEqualTo(ModelStatus.State.INSTALLED)));
        Button make4 = button("Make 4-bit", "Make the 4-bit weights of ConvLLaVA-" + r.variant().id()
                + ": about a third of the memory, weights off by about 7% (RMS), loaded in seconds", () -> vm.makeWeights(r, WeightFormat.Q4_K));
        make4.disableProperty().bind(r.busyProperty().or(r.stateProperty().isNotEqualTo(ModelStatus.State.INSTALLED)));

        for (Button b : new Button[] {download, cancel, use, make8, make4, verify, remove}) {
            b.setMinWidth(Button.USE_PREF_SIZE); // a narrow window wraps the row's text, never cuts a button's label
        }
        for (Label l : new Label[] {title, memory, speed, status, weights, error}) {
            l.setMinHeight(Label.USE_PREF_SIZE); // the whole text, however many lines it wraps to
        }
        bar.setMinWidth(80);
        HBox actions = new HBox(6, bar, download, cancel, use, make8, make4, verify, remove);
        VBox box = new VBox(4, title, memory, speed, status, weights, actions, error);
        box.getStyleClass().add("model-row");
        box.setPadding(new Insets(8));
        return box;
    }

    private static Button button(String text, String accessible, Runnable action) {
        Button b = new Button(text);
        b.setAccessibleText(accessible);
        b.setOnAction(e -> action.run());
        return b;
    }

    public VBox root() {
        return root;
    }

    /**
     * Shows the manager in its own window (not modal: downloads take long, the app stays usable): the
     * rows scroll when the window is lower than they are, Close (or Esc) closes it; downloads go on.
     */
    public static Stage show(Window owner, ModelManagerViewModel vm, List<String> stylesheets) {
        Stage stage = new Stage();
        stage.initOwner(owner);
        stage.initModality(Modality.NONE);
        stage.setTitle("ConvLLaVA models");
        ScrollPane scroll = new ScrollPane(new ModelManagerView(vm).root());
        scroll.setFitToWidth(true);
        scroll.getStyleClass().add("model-manager-scroll");
        VBox.setVgrow(scroll, Priority.ALWAYS);
        Button close = new Button("Close");
        close.setCancelButton(true);
        close.setAccessibleText("Close the models window (downloads go on)");
        close.setOnAction(e -> stage.close());
        HBox buttons = new HBox(close);
        buttons.setAlignment(Pos.CENTER_RIGHT);
        buttons.setPadding(new Insets(8, 12, 12, 12));
        VBox window = new VBox(scroll, buttons);
        // wide enough for a row's buttons beside its progress bar, and on a small screen no larger than it
        Rectangle2D screen = Screen.getPrimary().getVisualBounds();
        Scene scene = new Scene(window, Math.min(940, screen.getWidth() * 0.9), Math.min(760, screen.getHeight() * 0.85));
        scene.getStylesheets().addAll(stylesheets);
        stage.setScene(scene);
        stage.setMinWidth(Math.min(640, screen.getWidth()));
        stage.setMinHeight(Math.min(300, screen.getHeight()));
        stage.show();
        return stage;
    }
}
