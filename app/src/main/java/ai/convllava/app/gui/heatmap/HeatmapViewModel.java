package ai.convllava.app.gui.heatmap;

import ai.convllava.app.gui.conversation.ChatMessage;
import ai.convllava.app.gui.conversation.HeatmapSource;
import ai.convllava.model.api.heatmap.Aggregation;
import ai.convllava.model.api.heatmap.AttentionMaps;
import ai.convllava.model.api.heatmap.CellMapping;
import ai.convllava.model.api.heatmap.HeatmapExport;
import ai.convllava.model.api.heatmap.Scale;
import ai.convllava.model.api.heatmap.TokenPiece;
import ai.convllava.model.api.image.PreprocessedImage;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.StringBinding;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyIntegerProperty;
import javafx.beans.property.ReadOnlyIntegerWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleDoubleProperty;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.value.ChangeListener;
import javafx.beans.value.ObservableBooleanValue;
import javafx.beans.value.ObservableValue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The heatmap panel: which answer, which token (or the whole answer), how the layers are aggregated, the
 * scale, the opacity, the grid cell asked about, and the map to draw (values in [0, 1] per image token).
 * Follows the latest answer that has maps; {@link #open} shows another. The overlay only shows while the
 * preview shows the canvas the answer was written about. Exports run on the I/O executor.
 */
public final class HeatmapViewModel {
    /** How many answer pieces a clicked cell highlights. */
    public static final int TOP_PIECES = 5;

    private final ObservableValue<PreprocessedImage> preview;
    private final ObservableBooleanValue showOriginal;
    private final Executor io;
    private final Executor ui;

    private final BooleanProperty shown = new SimpleBooleanProperty(this, "shown", false);
    private final BooleanProperty overlayOn = new SimpleBooleanProperty(this, "overlayOn", true);
    private final ObjectProperty<Aggregation.Kind> aggregationKind = new SimpleObjectProperty<>(this, "aggregationKind", Aggregation.Kind.MEAN);
    private final IntegerProperty layer = new SimpleIntegerProperty(this, "layer", 0);
    private final ObjectProperty<Scale> scale = new SimpleObjectProperty<>(this, "scale", Scale.PER_TOKEN);
    private final DoubleProperty opacity = new SimpleDoubleProperty(this, "opacity", 0.6);
    private final ReadOnlyObjectWrapper<ChatMessage> message = new ReadOnlyObjectWrapper<>(this, "message");
    private final ReadOnlyObjectWrapper<HeatmapSource> source = new ReadOnlyObjectWrapper<>(this, "source");
    private final ReadOnlyIntegerWrapper selected = new ReadOnlyIntegerWrapper(this, "selected", -1);
    private final ReadOnlyIntegerWrapper hovered = new ReadOnlyIntegerWrapper(this, "hovered", -2);
    private final ReadOnlyIntegerWrapper selectedCell = new ReadOnlyIntegerWrapper(this, "selectedCell", -1);
    private final ReadOnlyObjectWrapper<List<Integer>> cellPieces = new ReadOnlyObjectWrapper<>(this, "cellPieces", List.of());
    private final ReadOnlyObjectWrapper<float[]> map = new ReadOnlyObjectWrapper<>(this, "map");
    private final ReadOnlyBooleanWrapper matchesPreview = new ReadOnlyBooleanWrapper(this, "matchesPreview");
    private final ReadOnlyBooleanWrapper overlayVisible = new ReadOnlyBooleanWrapper(this, "overlayVisible");
    private final ReadOnlyStringWrapper caption = new ReadOnlyStringWrapper(this, "caption", "");
    private final ReadOnlyStringWrapper scaleTopText = new ReadOnlyStringWrapper(this, "scaleTopText", "");
    private final ReadOnlyStringWrapper status = new ReadOnlyStringWrapper(this, "status");
    private final ReadOnlyStringWrapper notice = new ReadOnlyStringWrapper(this, "notice");
    private final StringBinding layerText = Bindings.createStringBinding(() -> "layer " + (layer.get() + 1)
            + (source.get() == null ? "" : " of " + source.get().maps().layers()), layer, source);
    private final ChangeListener<HeatmapSource> attentionOfMessage = (o, a, s) -> setSource(s);

    /**
     * @param latestAnswer the last answer that has maps (the panel follows it)
     * @param preview      the canvas the preview shows: the overlay shows only on the canvas an answer was about
     * @param showOriginal whether the preview shows the original image instead of the canvas
     */
    public HeatmapViewModel(ObservableValue<ChatMessage> latestAnswer, ObservableValue<PreprocessedImage> preview,
                            ObservableBooleanValue showOriginal, Executor io, Executor ui) {
        this.preview = preview;
        this.showOriginal = showOriginal;
        this.io = io;
        this.ui = ui;
        latestAnswer.addListener((o, a, m) -> follow(m));
        preview.addListener(o -> recompute());
        showOriginal.addListener(o -> recompute());
        shown.addListener(o -> recompute());
        overlayOn.addListener(o -> recompute());
        aggregationKind.addListener(o -> {
            clampLayer();
            recompute();
        });
        layer.addListener(o -> {
            clampLayer();
            recompute();
        });
        scale.addListener(o -> recompute());
        follow(latestAnswer.getValue());
    }

    // ---- commands ---------------------------------------------------------------------------------

    /** Shows this answer's heatmap and opens the panel. */
    public void open(ChatMessage m) {
        open(m, -1);
    }

    /** Shows the map of one piece of this answer ({@code -1}: the whole answer) and opens the panel. */
    public void open(ChatMessage m, int piece) {
        follow(m);
        select(piece);
        shown.set(true);
    }

    private void follow(ChatMessage m) {
        ChatMessage old = message.get();
        if (old != null) {
            old.attentionProperty().removeListener(attentionOfMessage);
        }
        message.set(m);
        if (m != null) {
            m.attentionProperty().addListener(attentionOfMessage);
        }
        setSource(m == null ? null : m.attentionProperty().get());
    }

    private void setSource(HeatmapSource s) {
        source.set(s);
        selected.set(-1);
        hovered.set(-2);
        selectedCell.set(-1);
        cellPieces.set(List.of());
        clampLayer();
        recompute();
    }

    /** The map of one piece of the answer (-1: the whole answer). */
    public void select(int piece) {
        HeatmapSource s = source.get();
        if (s == null) {
            return;
        }
        selected.set(Math.max(-1, Math.min(s.maps().pieces().size() - 1, piece)));
        recompute();
    }

    public void selectWholeAnswer() {
        select(-1);
    }

    /** Next piece (from the whole answer: the first). */
    public void next() {
        select(selected.get() + 1);
    }

    /** Previous piece (from the first: the whole answer). */
    public void previous() {
        select(selected.get() - 1);
    }

    public void first() {
        select(0);
    }

    public void last() {
        HeatmapSource s = source.get();
        if (s != null) {
            select(s.maps().pieces().size() - 1);
        }
    }

    /** While the pointer is over a piece, the overlay shows that piece (-2: back to the selection). */
    public void hover(int piece) {
        hovered.set(piece);
        recompute();
    }

    /** A grid cell (image token) asked about: the pieces that attended to it most are highlighted; again to unselect. */
    public void selectCell(int token) {
        HeatmapSource s = source.get();
        if (s == null || token < 0 || token >= s.maps().imageTokens() || token == selectedCell.get()) {
            selectedCell.set(-1);
            cellPieces.set(List.of());
        } else {
            selectedCell.set(token);
            cellPieces.set(Arrays.stream(s.maps().topPieces(token, aggregation(), TOP_PIECES)).boxed().toList());
        }
        recompute();
    }

    public Aggregation aggregation() {
        return aggregationKind.get() == Aggregation.Kind.LAYER ? Aggregation.layer(layer.get())
                : aggregationKind.get() == Aggregation.Kind.MAX ? Aggregation.MAX : Aggregation.MEAN;
    }

    private void clampLayer() {
        HeatmapSource s = source.get();
        int max = s == null ? 0 : s.maps().layers() - 1;
        if (layer.get() > max || layer.get() < 0) {
            layer.set(Math.max(0, Math.min(max, layer.get())));
        }
    }

    // ---- what to draw -----------------------------------------------------------------------------

    private void recompute() {
        HeatmapSource s = source.get();
        PreprocessedImage pre = preview.getValue();
        boolean matches = s != null && pre != null && sameCanvas(s, pre);
        matchesPreview.set(matches);
        if (s == null) {
            map.set(null);
            caption.set("");
            scaleTopText.set("");
            overlayVisible.set(false);
            status.set("No heatmap yet: ask a question about an image; the attention over the image is recorded with every answer.");
            return;
        }
        AttentionMaps maps = s.maps();
        int piece = hovered.get() >= -1 ? hovered.get() : selected.get();
        if (piece >= maps.pieces().size()) {
            piece = -1;
        }
        if (selectedCell.get() >= 0) {
            cellPieces.set(Arrays.stream(maps.topPieces(selectedCell.get(), aggregation(), TOP_PIECES)).boxed().toList());
        }
        Aggregation agg = aggregation();
        float[] raw = maps.map(piece, agg);
        double top = maps.scaleTop(piece, agg, scale.get());
        map.set(AttentionMaps.normalize(raw, top));
        scaleTopText.set(format(top));
        caption.set(captionFor(maps, piece, agg, raw));
        overlayVisible.set(shown.get() && overlayOn.get() && matches && !showOriginal.get());
        if (!matches) {
            status.set("The preview shows another canvas than the one this answer was about ("
                    + maps.geometry().gridCols() + " x " + maps.geometry().gridRows() + " tokens): switch back to see the overlay; "
                    + "exports still work.");
        } else if (showOriginal.get()) {
            status.set("The overlay shows on the model canvas: turn off \u201cOriginal\u201d.");
        } else {
            status.set(null);
        }
    }

    private String captionFor(AttentionMaps maps, int piece, Aggregation agg, float[] raw) {
        String what;
        if (piece < 0) {
            what = "Whole answer (" + maps.pieces().stream().filter(p -> !p.end()).mapToInt(TokenPiece::tokenCount).sum() + " tokens)";
        } else {
            TokenPiece p = maps.pieces().get(piece);
            what = (p.end() ? "End of answer" : "\u201c" + p.label() + "\u201d") + " (" + (piece + 1) + " of " + maps.pieces().size()
                    + (p.tokenCount() > 1 ? ", " + p.tokenCount() + " tokens" : "") + ")";
        }
        CellMapping cm = maps.mapping();
        int best = AttentionMaps.argmax(raw);
        String where = cm.imageFraction(best) == 0 ? " (padding)" : "";
        return what + " \u00b7 " + agg.describe() + " \u00b7 " + (scale.get() == Scale.ANSWER ? "scale across the answer" : "scale per token")
                + " \u00b7 " + percent(AttentionMaps.sum(raw)) + " of attention on the image \u00b7 peak " + format(raw[best]) + " at cell ("
                + cm.row(best) + ", " + cm.col(best) + ")" + where;
    }

    private static boolean sameCanvas(HeatmapSource s, PreprocessedImage pre) {
        return s.canvas() == pre.canvas() || s.maps().geometry().equals(pre.geometry()) && Arrays.equals(s.canvas().rgb(), pre.canvas().rgb());
    }

    static String format(double v) {
        return String.format(Locale.ROOT, v >= 0.01 ? "%.3f" : "%.2e", v);
    }

    static String percent(double v) {
        return String.format(Locale.ROOT, "%.1f %%", v * 100);
    }

    /** The piece the overlay shows (-1: the whole answer). */
    public int shownPiece() {
        HeatmapSource s = source.get();
        int p = hovered.get() >= -1 ? hovered.get() : selected.get();
        return s == null || p >= s.maps().pieces().size() ? -1 : p;
    }

    // ---- exports ----------------------------------------------------------------------------------

    /** The overlay as a PNG: the canvas, the heatmap, the legend and the token's text. */
    public CompletableFuture<Void> exportPng(Path file) {
        HeatmapSource s = source.get();
        if (s == null) {
            return nothing();
        }
        float[] m = map.get();
        double op = opacity.get();
        String title = caption.get();
        String top = scaleTopText.get();
        int cell = selectedCell.get();
        return export(file, () -> HeatmapPng.write(HeatmapPng.render(s, m, op, title, top, cell), file));
    }

    /** Every recorded step and layer, one row each (see {@link HeatmapExport}). */
    public CompletableFuture<Void> exportCsv(Path file) {
        HeatmapSource s = source.get();
        return s == null ? nothing() : export(file, () -> HeatmapExport.writeCsv(s.maps(), file));
    }

    /** Geometry, pieces, every step and the map on screen. */
    public CompletableFuture<Void> exportJson(Path file) {
        HeatmapSource s = source.get();
        if (s == null) {
            return nothing();
        }
        HeatmapExport.View v = new HeatmapExport.View(shownPiece(), aggregation(), scale.get());
        return export(file, () -> HeatmapExport.writeJson(s.maps(), v, file));
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private CompletableFuture<Void> export(Path file, IoAction action) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            try {
                action.run();
                ui.execute(() -> notice.set("Saved " + file));
                done.complete(null);
            } catch (IOException | RuntimeException e) {
                ui.execute(() -> notice.set("Could not save " + file + ": " + e.getMessage()));
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    private CompletableFuture<Void> nothing() {
        notice.set("Nothing to export yet: ask a question about an image first.");
        return CompletableFuture.completedFuture(null);
    }

    // ---- properties -------------------------------------------------------------------------------

    /** The panel is open (and with it the overlay, unless {@link #overlayOnProperty()} is off). */
    public BooleanProperty shownProperty() {
        return shown;
    }

    public BooleanProperty overlayOnProperty() {
        return overlayOn;
    }

    public ObjectProperty<Aggregation.Kind> aggregationKindProperty() {
        return aggregationKind;
    }

    /** The layer shown when the aggregation is LAYER (0 .. layers - 1, as in model.layers.N). */
    public IntegerProperty layerProperty() {
        return layer;
    }

    public ObjectProperty<Scale> scaleProperty() {
        return scale;
    }

    public DoubleProperty opacityProperty() {
        return opacity;
    }

    public ReadOnlyObjectProperty<ChatMessage> messageProperty() {
        return message.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<HeatmapSource> sourceProperty() {
        return source.getReadOnlyProperty();
    }

    /** The selected piece, -1 for the whole answer. */
    public ReadOnlyIntegerProperty selectedProperty() {
        return selected.getReadOnlyProperty();
    }

    /** The piece under the pointer, -2 when none. */
    public ReadOnlyIntegerProperty hoveredProperty() {
        return hovered.getReadOnlyProperty();
    }

    /** The image token (grid cell) asked about, -1 when none. */
    public ReadOnlyIntegerProperty selectedCellProperty() {
        return selectedCell.getReadOnlyProperty();
    }

    /** The pieces that attended most to the selected cell, best first. */
    public ReadOnlyObjectProperty<List<Integer>> cellPiecesProperty() {
        return cellPieces.getReadOnlyProperty();
    }

    /** Per image token, in [0, 1]: what the overlay draws; null without a source. */
    public ReadOnlyObjectProperty<float[]> mapProperty() {
        return map.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty matchesPreviewProperty() {
        return matchesPreview.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty overlayVisibleProperty() {
        return overlayVisible.getReadOnlyProperty();
    }

    /**
     * The layer slider's label, counted from 1 as people count ("layer 2 of 2"); {@link #layerProperty()}
     * stays 0-based as in the model's weight names.
     */
    public StringBinding layerTextProperty() {
        return layerText;
    }

    public ReadOnlyStringProperty captionProperty() {
        return caption.getReadOnlyProperty();
    }

    /** The attention probability the top of the colour scale stands for. */
    public ReadOnlyStringProperty scaleTopTextProperty() {
        return scaleTopText.getReadOnlyProperty();
    }

    /** Why there is no overlay, or null. */
    public ReadOnlyStringProperty statusProperty() {
        return status.getReadOnlyProperty();
    }

    /** The outcome of the last export. */
    public ReadOnlyStringProperty noticeProperty() {
        return notice.getReadOnlyProperty();
    }
}
