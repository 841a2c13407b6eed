package ai.convllava.app.gui.image;

import ai.convllava.app.gui.common.Fxml;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.PreprocessedImage;
import javafx.beans.binding.Bindings;
import javafx.fxml.FXML;
import javafx.geometry.Bounds;
import javafx.scene.Group;
import javafx.scene.Parent;
import javafx.scene.control.Button;
import javafx.scene.control.Label;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.TextField;
import javafx.scene.control.ToggleButton;
import javafx.scene.control.Tooltip;
import javafx.scene.control.ToggleGroup;
import javafx.scene.image.Image;
import javafx.scene.image.ImageView;
import javafx.scene.input.ScrollEvent;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Pane;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import javafx.scene.shape.LineTo;
import javafx.scene.shape.MoveTo;
import javafx.scene.shape.Path;
import javafx.scene.shape.Rectangle;

/**
 * The canvas exactly as the model sees it, with the token grid over it and the padding hatched; or the
 * original image; with a {@link CanvasOverlay} set (the attention heatmap), that overlay under and over the grid,
 * and the clicks on the canvas sent to it.
 * Only binds to the view-models and draws.
 */
public final class PreviewView {
    private static final double FIT_MARGIN = 16;

    @FXML private VBox root;
    @FXML private ToggleGroup modeGroup;
    @FXML private ToggleButton padButton;
    @FXML private ToggleButton nativeButton;
    @FXML private ToggleButton gridButton;
    @FXML private ToggleButton originalButton;
    @FXML private Button zoomOutButton;
    @FXML private Button zoomInButton;
    @FXML private Button zoomFitButton;
    @FXML private Label zoomLabel;
    @FXML private HBox pageBox;
    @FXML private Button previousPageButton;
    @FXML private TextField pageField;
    @FXML private Label pageLabel;
    @FXML private Label documentLabel;
    @FXML private Label nameLabel;
    @FXML private Button nextPageButton;
    @FXML private StackPane viewport;
    @FXML private ScrollPane scroll;
    @FXML private Label dropHint;
    @FXML private HBox messageBox;
    @FXML private Label message;
    @FXML private Button dismissButton;
    @FXML private Label readout;

    private final ImageViewModel vm;
    private final ImageView imageView = new ImageView();
    private final Group overlay = new Group();
    private final Group heatLayer = new Group();
    private final Pane content = new Pane(imageView, heatLayer, overlay);
    private CanvasOverlay canvasOverlay;
    private final StackPane centerer = new StackPane(content);

    public PreviewView(ImageViewModel vm) {
        this.vm = vm;
        Fxml.load("PreviewView.fxml", this);
        bind();
    }

    public Parent root() {
        return root;
    }

    /** The drop target (the whole preview). */
    public StackPane viewport() {
        return viewport;
    }

    /** Grid lines currently drawn (tests and screenshots). */
    public Group overlay() {
        return overlay;
    }

    /** The heatmap drawn under the grid: one rectangle per visual token, row-major (tests and screenshots). */
    public Group heatLayer() {
        return heatLayer;
    }

    /** Draws this over the canvas (the heatmap: under the grid, with its own marks over it) and sends canvas clicks to it. */
    public void setOverlay(CanvasOverlay o) {
        canvasOverlay = o;
        o.onChange(this::redraw);
        heatLayer.opacityProperty().bind(o.opacity());
        content.setOnMouseClicked(e -> {
            PreprocessedImage pre = vm.preprocessedProperty().get();
            if (!o.takesClicks() || pre == null || !e.isStillSincePress()) {
                return;
            }
            double s = vm.scaleProperty().get();
            o.clicked(e.getX() / s, e.getY() / s, pre.geometry());
        });
        redraw();
    }

    private void bind() {
        heatLayer.setManaged(false);
        heatLayer.setMouseTransparent(true);
        imageView.setPreserveRatio(false);
        overlay.setManaged(false);
        content.getStyleClass().add("preview-content");
        scroll.setContent(centerer);
        scroll.viewportBoundsProperty().addListener((o, a, b) -> centerer.setMinSize(b.getWidth(), b.getHeight()));

        padButton.setSelected(vm.modeProperty().get() == CanvasMode.PAD);
        nativeButton.setSelected(vm.modeProperty().get() == CanvasMode.NATIVE);
        modeGroup.selectedToggleProperty().addListener((o, was, now) -> {
            if (now == null) {
                was.setSelected(true);
            } else {
                vm.modeProperty().set(now == nativeButton ? CanvasMode.NATIVE : CanvasMode.PAD);
            }
        });
        vm.modeProperty().addListener((o, a, m) -> (m == CanvasMode.NATIVE ? nativeButton : padButton).setSelected(true));
        gridButton.selectedProperty().bindBidirectional(vm.showGridProperty());
        originalButton.selectedProperty().bindBidirectional(vm.showOriginalProperty());
        readout.textProperty().bind(vm.readoutProperty());
        message.textProperty().bind(vm.messageProperty());
        messageBox.visibleProperty().bind(vm.messageProperty().isNotNull());
        messageBox.managedProperty().bind(messageBox.visibleProperty());
        dropHint.visibleProperty().bind(vm.originalProperty().isNull());
        zoomLabel.textProperty().bind(Bindings.createStringBinding(() -> Math.round(vm.scaleProperty().get() * 100) + " %", vm.scaleProperty()));
        // a PDF of several pages: which one the model sees, and the way to the others
        pageBox.visibleProperty().bind(vm.pageCountProperty().greaterThan(1));
        pageBox.managedProperty().bind(pageBox.visibleProperty());
        pageLabel.textProperty().bind(Bindings.createStringBinding(() -> "of " + vm.pageCountProperty().get(), vm.pageCountProperty()));
        documentLabel.textProperty().bind(vm.sourceNameProperty());
        nameLabel.textProperty().bind(vm.sourceNameProperty());
        nameLabel.visibleProperty().bind(vm.sourceNameProperty().isNotEmpty().and(pageBox.visibleProperty().not()));
        nameLabel.managedProperty().bind(nameLabel.visibleProperty());
        Tooltip path = new Tooltip();
        path.textProperty().bind(Bindings.createStringBinding(() -> vm.sourcePathProperty().get() == null ? vm.sourceNameProperty().get()
                : vm.sourcePathProperty().get().toAbsolutePath().toString(), vm.sourcePathProperty(), vm.sourceNameProperty()));
        nameLabel.setTooltip(path);
        pageField.setText("1");
        vm.pageProperty().addListener((o, was, now) -> pageField.setText(Integer.toString(now.intValue())));
        pageField.setOnAction(e -> goToTypedPage());
        pageField.focusedProperty().addListener((o, was, focused) -> {
            if (!focused) {
                pageField.setText(Integer.toString(vm.pageProperty().get())); // typed but not confirmed: back to the page shown
            }
        });
        previousPageButton.disableProperty().bind(vm.canGoToPreviousPageProperty().not());
        nextPageButton.disableProperty().bind(vm.canGoToNextPageProperty().not());

        vm.preprocessedProperty().addListener((o, a, pre) -> {
            refit();
            redraw();
        });
        vm.originalImageProperty().addListener((o, a, img) -> {
            refit();
            redraw();
        });
        vm.scaleProperty().addListener(o -> redraw());
        vm.showGridProperty().addListener(o -> redraw());
        vm.showOriginalProperty().addListener(o -> {
            refit();
            redraw();
        });
        vm.fitProperty().addListener(o -> refit());
        scroll.viewportBoundsProperty().addListener(o -> refit());
        scroll.addEventFilter(ScrollEvent.SCROLL, e -> {
            if (e.isShortcutDown() && e.getDeltaY() != 0) {
                if (e.getDeltaY() > 0) {
                    vm.zoomIn();
                } else {
                    vm.zoomOut();
                }
                e.consume();
            }
        });
    }

    private Image displayed() {
        Image original = vm.originalImageProperty().get();
        return vm.showOriginalProperty().get() && original != null ? original : vm.canvasImageProperty().get();
    }

    private void refit() {
        Image img = displayed();
        if (!vm.fitProperty().get() || img == null) {
            return;
        }
        Bounds vb = scroll.getViewportBounds();
        if (vb.getWidth() <= FIT_MARGIN || vb.getHeight() <= FIT_MARGIN) {
            return;
        }
        double s = Math.min((vb.getWidth() - FIT_MARGIN) / img.getWidth(), (vb.getHeight() - FIT_MARGIN) / img.getHeight());
        vm.scaleProperty().set(Math.max(ImageViewModel.MIN_SCALE, Math.min(ImageViewModel.MAX_SCALE, s)));
    }

    private void redraw() {
        overlay.getChildren().clear();
        heatLayer.getChildren().clear();
        heatLayer.setVisible(false);
        Image img = displayed();
        imageView.setImage(img);
        if (img == null) {
            content.setPrefSize(0, 0);
            return;
        }
        double s = vm.scaleProperty().get();
        double w = img.getWidth() * s;
        double h = img.getHeight() * s;
        imageView.setFitWidth(w);
        imageView.setFitHeight(h);
        imageView.setSmooth(s < 1);
        content.setPrefSize(w, h);
        content.setMinSize(w, h);
        content.setMaxSize(w, h);
        boolean showingCanvas = img == vm.canvasImageProperty().get();
        PreprocessedImage pre = vm.preprocessedProperty().get();
        if (!showingCanvas || pre == null) {
            imageView.setAccessibleText("Original image " + (int) img.getWidth() + " x " + (int) img.getHeight());
            return;
        }
        CanvasGeometry g = pre.geometry();
        imageView.setAccessibleText("Model canvas: " + g.describe());
        Group marks = new Group();
        boolean under = canvasOverlay != null && canvasOverlay.draw(heatLayer, marks, g, s);
        heatLayer.setVisible(under);
        double ix = g.imageX() * s;
        double iy = g.imageY() * s;
        double iw = g.imageWidth() * s;
        double ih = g.imageHeight() * s;
        padding(0, 0, w, iy);
        padding(0, iy + ih, w, h - iy - ih);
        padding(0, iy, ix, ih);
        padding(ix + iw, iy, w - ix - iw, ih);
        if (iw < w - 0.5 || ih < h - 0.5) {
            Rectangle frame = new Rectangle(ix, iy, iw, ih);
            frame.getStyleClass().add("image-frame");
            overlay.getChildren().add(frame);
        }
        if (vm.showGridProperty().get()) {
            Path grid = new Path();
            grid.getStyleClass().add("token-grid");
            double cell = g.cellSize() * s;
            for (int c = 0; c <= g.gridCols(); c++) {
                double x = Math.min(c * cell, w - 0.5);
                grid.getElements().addAll(new MoveTo(x, 0), new LineTo(x, h));
            }
            for (int r = 0; r <= g.gridRows(); r++) {
                double y = Math.min(r * cell, h - 0.5);
                grid.getElements().addAll(new MoveTo(0, y), new LineTo(w, y));
            }
            grid.setAccessibleText(g.gridCols() + " x " + g.gridRows() + " token grid");
            overlay.getChildren().add(grid);
        }
        overlay.getChildren().add(marks); // the overlay's own marks over the grid
    }

    /** A padding region: dimmed and hatched, so it reads as "not the image". */
    private void padding(double x, double y, double w, double h) {
        if (w < 0.5 || h < 0.5) {
            return;
        }
        Rectangle dim = new Rectangle(x, y, w, h);
        dim.getStyleClass().add("padding-dim");
        Path hatch = new Path();
        hatch.getStyleClass().add("padding-hatch");
        for (double t = -h; t < w; t += 10) {
            hatch.getElements().addAll(new MoveTo(x + t, y + h), new LineTo(x + t + h, y));
        }
        hatch.setClip(new Rectangle(x, y, w, h));
        overlay.getChildren().addAll(dim, hatch);
    }

    /** Enter in the page field: that page (clamped to the document), or back to the page shown if it is not a number. */
    private void goToTypedPage() {
        try {
            int n = Integer.parseInt(pageField.getText().strip());
            pageField.setText(Integer.toString(Math.max(1, Math.min(vm.pageCountProperty().get(), n)))); // as showPage clamps it
            vm.showPage(n);
        } catch (NumberFormatException e) {
            pageField.setText(Integer.toString(vm.pageProperty().get()));
        }
        pageField.selectAll();
    }

    @FXML
    private void onPreviousPage() {
        vm.previousPage();
    }

    @FXML
    private void onNextPage() {
        vm.nextPage();
    }

    @FXML
    private void onZoomIn() {
        vm.zoomIn();
    }

    @FXML
    private void onZoomOut() {
        vm.zoomOut();
    }

    @FXML
    private void onZoomFit() {
        vm.zoomFit();
    }

    @FXML
    private void onDismiss() {
        vm.dismissMessage();
    }
}
