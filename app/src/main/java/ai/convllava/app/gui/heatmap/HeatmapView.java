package ai.convllava.app.gui.heatmap;

import ai.convllava.app.gui.common.Fxml;
import ai.convllava.app.gui.conversation.HeatmapSource;
import ai.convllava.model.api.heatmap.Aggregation;
import ai.convllava.model.api.heatmap.ColorMap;
import ai.convllava.model.api.heatmap.Scale;
import ai.convllava.model.api.heatmap.TokenPiece;
import javafx.beans.binding.Bindings;
import javafx.fxml.FXML;
import javafx.geometry.Insets;
import javafx.scene.Parent;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.MenuButton;
import javafx.scene.control.ScrollPane;
import javafx.scene.control.Slider;
import javafx.scene.control.ToggleButton;
import javafx.scene.control.ToggleGroup;
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyEvent;
import javafx.scene.layout.Background;
import javafx.scene.layout.BackgroundFill;
import javafx.scene.layout.CornerRadii;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.scene.paint.Color;
import javafx.scene.paint.CycleMethod;
import javafx.scene.paint.LinearGradient;
import javafx.scene.paint.Stop;
import javafx.stage.FileChooser;

import java.io.File;
import java.util.ArrayList;
import java.util.List;

/**
 * The heatmap panel: aggregation (mean / layer / max) and layer slider, scale (per token / across the
 * answer), opacity, legend, the caption, and the answer as a strip of token chips: hover or click one to
 * see its map, "Whole answer" for the mean, arrow keys to step through. The cell clicked in the preview
 * outlines the chips that attended to it most. Only binds to {@link HeatmapViewModel}.
 */
public final class HeatmapView {
    @FXML private VBox root;
    @FXML private ToggleGroup aggregationGroup;
    @FXML private ToggleGroup scaleGroup;
    @FXML private CheckBox overlayBox;
    @FXML private ToggleButton meanButton;
    @FXML private ToggleButton layerButton;
    @FXML private ToggleButton maxButton;
    @FXML private Slider layerSlider;
    @FXML private Label layerLabel;
    @FXML private MenuButton exportButton;
    @FXML private Button closeButton;
    @FXML private ToggleButton perTokenButton;
    @FXML private ToggleButton answerScaleButton;
    @FXML private Slider opacitySlider;
    @FXML private Region legendBar;
    @FXML private Label legendTop;
    @FXML private Label captionLabel;
    @FXML private Label statusLabel;
    @FXML private ScrollPane tokenScroll;
    @FXML private FlowPane tokenPane;

    private final HeatmapViewModel vm;
    private final List<Label> chips = new ArrayList<>();
    private Label wholeChip;

    public HeatmapView(HeatmapViewModel vm) {
        this.vm = vm;
        Fxml.load("HeatmapView.fxml", this);
        bind();
    }

    public Parent root() {
        return root;
    }

    /** The token chips, in answer order (tests). */
    public List<Label> chips() {
        return List.copyOf(chips);
    }

    /** The "Whole answer" chip (tests). */
    public Label wholeChip() {
        return wholeChip;
    }

    public FlowPane tokenPane() {
        return tokenPane;
    }

    private void bind() {
        root.visibleProperty().bind(vm.shownProperty());
        root.managedProperty().bind(root.visibleProperty());
        overlayBox.selectedProperty().bindBidirectional(vm.overlayOnProperty());

        selectKind(vm.aggregationKindProperty().get());
        aggregationGroup.selectedToggleProperty().addListener((o, was, now) -> {
            if (now == null) {
                was.setSelected(true);
            } else {
                vm.aggregationKindProperty().set(now == layerButton ? Aggregation.Kind.LAYER : now == maxButton ? Aggregation.Kind.MAX
                        : Aggregation.Kind.MEAN);
            }
        });
        vm.aggregationKindProperty().addListener((o, a, k) -> selectKind(k));
        layerSlider.valueProperty().addListener((o, a, v) -> {
            int l = (int) Math.round(v.doubleValue());
            if (l != vm.layerProperty().get() || vm.aggregationKindProperty().get() != Aggregation.Kind.LAYER) {
                vm.layerProperty().set(l);
                vm.aggregationKindProperty().set(Aggregation.Kind.LAYER); // moving the slider means "this layer"
            }
        });
        vm.layerProperty().addListener((o, a, l) -> layerSlider.setValue(l.intValue()));
        layerLabel.textProperty().bind(vm.layerTextProperty());

        (vm.scaleProperty().get() == Scale.ANSWER ? answerScaleButton : perTokenButton).setSelected(true);
        scaleGroup.selectedToggleProperty().addListener((o, was, now) -> {
            if (now == null) {
                was.setSelected(true);
            } else {
                vm.scaleProperty().set(now == answerScaleButton ? Scale.ANSWER : Scale.PER_TOKEN);
            }
        });
        vm.scaleProperty().addListener((o, a, s) -> (s == Scale.ANSWER ? answerScaleButton : perTokenButton).setSelected(true));
        opacitySlider.valueProperty().bindBidirectional(vm.opacityProperty());

        List<Stop> stops = new ArrayList<>();
        for (int i = 0; i <= 16; i++) {
            int rgb = ColorMap.rgb(i / 16.0);
            stops.add(new Stop(i / 16.0, Color.rgb(rgb >> 16 & 0xff, rgb >> 8 & 0xff, rgb & 0xff)));
        }
        legendBar.setBackground(new Background(new BackgroundFill(new LinearGradient(0, 0, 1, 0, true, CycleMethod.NO_CYCLE, stops),
                CornerRadii.EMPTY, Insets.EMPTY)));
        legendTop.textProperty().bind(vm.scaleTopTextProperty());
        captionLabel.textProperty().bind(vm.captionProperty());
        statusLabel.textProperty().bind(Bindings.createStringBinding(() -> vm.statusProperty().get() != null ? vm.statusProperty().get()
                : vm.noticeProperty().get() != null ? vm.noticeProperty().get() : "", vm.statusProperty(), vm.noticeProperty()));
        exportButton.disableProperty().bind(vm.sourceProperty().isNull());

        vm.sourceProperty().addListener((o, a, s) -> rebuild());
        vm.selectedProperty().addListener(o -> restyle());
        vm.cellPiecesProperty().addListener(o -> restyle());
        tokenPane.addEventHandler(KeyEvent.KEY_PRESSED, this::keys);
        rebuild();
    }

    private void selectKind(Aggregation.Kind k) {
        (k == Aggregation.Kind.LAYER ? layerButton : k == Aggregation.Kind.MAX ? maxButton : meanButton).setSelected(true);
    }

    private void rebuild() {
        HeatmapSource s = vm.sourceProperty().get();
        tokenPane.getChildren().clear();
        chips.clear();
        layerSlider.setMax(s == null ? 1 : Math.max(1, s.maps().layers() - 1));
        layerSlider.setDisable(s == null || s.maps().layers() < 2);
        wholeChip = chip("Whole answer", -1);
        wholeChip.getStyleClass().add("whole");
        tokenPane.getChildren().add(wholeChip);
        if (s != null) {
            List<TokenPiece> pieces = s.maps().pieces();
            for (int i = 0; i < pieces.size(); i++) {
                Label c = chip(pieces.get(i).label(), i);
                chips.add(c);
                tokenPane.getChildren().add(c);
            }
        }
        restyle();
    }

    private Label chip(String text, int piece) {
        Label c = new Label(text);
        c.getStyleClass().add("token-chip");
        c.setAccessibleText(piece < 0 ? "Whole answer" : "Token " + (piece + 1) + ": " + text);
        c.setOnMouseEntered(e -> vm.hover(piece));
        c.setOnMouseExited(e -> vm.hover(-2));
        c.setOnMouseClicked(e -> {
            vm.select(piece);
            tokenPane.requestFocus();
        });
        return c;
    }

    private void restyle() {
        int sel = vm.selectedProperty().get();
        List<Integer> hot = vm.cellPiecesProperty().get();
        setClass(wholeChip, "selected", sel < 0);
        for (int i = 0; i < chips.size(); i++) {
            Label c = chips.get(i);
            setClass(c, "selected", i == sel);
            int rank = hot.indexOf(i);
            setClass(c, "attends-cell", rank >= 0);
            setClass(c, "attends-cell-top", rank == 0);
            c.setTooltip(rank >= 0 ? new Tooltip("#" + (rank + 1) + " for the selected cell") : null);
        }
        Label target = sel >= 0 && sel < chips.size() ? chips.get(sel) : wholeChip;
        if (target != null && target.getParent() != null) {
            double y = target.getBoundsInParent().getMinY();
            double h = tokenPane.getHeight() - tokenScroll.getViewportBounds().getHeight();
            if (h > 0) {
                tokenScroll.setVvalue(Math.max(0, Math.min(1, y / h)));
            }
        }
    }

    private static void setClass(Label l, String cls, boolean on) {
        if (on && !l.getStyleClass().contains(cls)) {
            l.getStyleClass().add(cls);
        } else if (!on) {
            l.getStyleClass().remove(cls);
        }
    }

    private void keys(KeyEvent e) {
        switch (e.getCode()) {
            case RIGHT:
            case DOWN:
                vm.next();
                break;
            case LEFT:
            case UP:
                vm.previous();
                break;
            case HOME:
                vm.selectWholeAnswer();
                break;
            case END:
                vm.last();
                break;
            default:
                return;
        }
        e.consume();
    }

    private File choose(String what, String ext) {
        FileChooser fc = new FileChooser();
        fc.setTitle("Export heatmap as " + what);
        fc.getExtensionFilters().add(new FileChooser.ExtensionFilter(what, "*" + ext));
        fc.setInitialFileName("heatmap" + ext);
        File f = fc.showSaveDialog(root.getScene().getWindow());
        if (f == null) {
            return null;
        }
        return f.getName().endsWith(ext) ? f : new File(f.getParentFile(), f.getName() + ext);
    }

    @FXML
    private void onExportPng() {
        File f = choose("PNG", ".png");
        if (f != null) {
            vm.exportPng(f.toPath());
        }
    }

    @FXML
    private void onExportCsv() {
        File f = choose("CSV", ".csv");
        if (f != null) {
            vm.exportCsv(f.toPath());
        }
    }

    @FXML
    private void onExportJson() {
        File f = choose("JSON", ".json");
        if (f != null) {
            vm.exportJson(f.toPath());
        }
    }

    @FXML
    private void onClose() {
        vm.shownProperty().set(false);
    }
}
