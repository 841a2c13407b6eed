package ai.convllava.app.gui.image;

import ai.convllava.app.gui.common.Errors;
import ai.convllava.app.gui.settings.AppSettings;
import ai.convllava.model.api.TaskHandle;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.DecodedImage;
import ai.convllava.model.api.image.ImageFiles;
import ai.convllava.model.api.image.PreprocessedImage;
import ai.convllava.model.api.image.RgbImage;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.DoubleProperty;
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
import javafx.scene.image.Image;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The image and its preview: the original, the canvas exactly as the model sees it, the token grid and
 * its readout, the pad/native switch, grid toggle and zoom. Decoding runs on the I/O executor and
 * preprocessing in the service; the geometry readout updates at once ({@link VisionChatSession#geometry}).
 */
public final class ImageViewModel {
    public static final double MIN_SCALE = 0.05;
    public static final double MAX_SCALE = 8;

    private final VisionChatSession service;
    private final Executor io;
    private final Executor ui;
    private final AppSettings settings;

    private final ReadOnlyObjectWrapper<RgbImage> original = new ReadOnlyObjectWrapper<>(this, "original");
    /** The original and the canvas as JavaFX images, converted off the UI thread (a photo's conversion is not instant). */
    private final ReadOnlyObjectWrapper<Image> originalImage = new ReadOnlyObjectWrapper<>(this, "originalImage");
    private final ReadOnlyObjectWrapper<Image> canvasImage = new ReadOnlyObjectWrapper<>(this, "canvasImage");
    private final ReadOnlyStringWrapper sourceName = new ReadOnlyStringWrapper(this, "sourceName", "");
    private final ReadOnlyObjectWrapper<Path> sourcePath = new ReadOnlyObjectWrapper<>(this, "sourcePath");
    private final ReadOnlyBooleanWrapper pasted = new ReadOnlyBooleanWrapper(this, "pasted");
    private final ReadOnlyObjectWrapper<CanvasGeometry> geometry = new ReadOnlyObjectWrapper<>(this, "geometry");
    private final ReadOnlyObjectWrapper<PreprocessedImage> preprocessed = new ReadOnlyObjectWrapper<>(this, "preprocessed");
    private final ReadOnlyStringWrapper readout = new ReadOnlyStringWrapper(this, "readout", "Drop, paste (Ctrl+V) or open an image");
    private final ReadOnlyStringWrapper message = new ReadOnlyStringWrapper(this, "message");
    private final ReadOnlyBooleanWrapper busy = new ReadOnlyBooleanWrapper(this, "busy");
    /** Pages of the open PDF, 0 when the image is not a document page. */
    private final ReadOnlyIntegerWrapper pageCount = new ReadOnlyIntegerWrapper(this, "pageCount");
    /** The page shown (1-based) while {@link #pageCount} is above 0. */
    private final ReadOnlyIntegerWrapper page = new ReadOnlyIntegerWrapper(this, "page");
    /** A page before / after the one shown, and nothing loading: what Previous / Next page need. */
    private final BooleanBinding canGoToPreviousPage = page.greaterThan(1).and(busy.not());
    private final BooleanBinding canGoToNextPage = page.lessThan(pageCount).and(busy.not());
    private final DoubleProperty scale = new SimpleDoubleProperty(this, "scale", 1);
    private final BooleanProperty fit = new SimpleBooleanProperty(this, "fit", true);
    private final BooleanProperty showOriginal = new SimpleBooleanProperty(this, "showOriginal", false);

    private long sequence;
    private TaskHandle<PreprocessedImage> pending;
    private CompletableFuture<?> ready = CompletableFuture.completedFuture(null);

    public ImageViewModel(VisionChatSession service, AppSettings settings, Executor io, Executor ui) {
        this.service = service;
        this.settings = settings;
        this.io = io;
        this.ui = ui;
        settings.canvasModeProperty().addListener((o, a, b) -> {
            if (original.get() != null) {
                update();
            }
        });
    }

    /**
     * Decodes a file in the background (a PDF: its first page, and how many it has); on failure the
     * message says why and the current image stays.
     */
    public CompletableFuture<Void> openFile(Path file) {
        return load(file, 1);
    }

    /** Shows another page of the open PDF (clamped to its pages); nothing when no document is open. */
    public CompletableFuture<Void> showPage(int n) {
        Path file = sourcePath.get();
        if (pageCount.get() == 0 || file == null) {
            return CompletableFuture.completedFuture(null);
        }
        int target = Math.max(1, Math.min(pageCount.get(), n));
        if (target == page.get()) {
            return CompletableFuture.completedFuture(null);
        }
        return load(file, target);
    }

    public CompletableFuture<Void> nextPage() {
        return showPage(page.get() + 1);
    }

    public CompletableFuture<Void> previousPage() {
        return showPage(page.get() - 1);
    }

    /** Whether the image is a page of a document (rendered, so a conversation keeps a copy of it). */
    public boolean isDocumentPage() {
        return pageCount.get() > 0;
    }

    /** The file's image, or page {@code n} of a PDF (with how many pages it has). */
    private CompletableFuture<Void> load(Path file, int n) {
        long seq = ++sequence;
        busy.set(true);
        message.set(null);
        CompletableFuture<Void> done = new CompletableFuture<>();
        io.execute(() -> {
            DecodedImage d;
            Image fx;
            try {
                d = ImageFiles.read(file, n);
                fx = FxImages.toFx(d.image());
            } catch (RuntimeException | OutOfMemoryError e) {
                ui.execute(() -> {
                    if (seq == sequence) {
                        busy.set(false);
                        message.set(Errors.message(e));
                    }
                    done.completeExceptionally(e);
                });
                return;
            }
            ui.execute(() -> {
                if (seq == sequence) {
                    pageCount.set(d.pageCount());
                    page.set(d.pageCount() > 0 ? n : 0);
                    accept(d.image(), fx, file.getFileName().toString(), file, false);
                }
                done.complete(null);
            });
        });
        return done;
    }

    /** An image that is already decoded (pasted or dragged as image content). */
    public void setImage(RgbImage rgb, String name) {
        long seq = ++sequence;
        message.set(null);
        pageCount.set(0);
        page.set(0);
        accept(rgb, null, name, null, true);
        io.execute(() -> {
            Image fx = FxImages.toFx(rgb);
            ui.execute(() -> {
                if (seq == sequence) {
                    originalImage.set(fx);
                }
            });
        });
    }

    /** An inline message about an image that could not be taken (unreadable, not an image...). */
    public void reject(String why) {
        message.set(why);
    }

    public void dismissMessage() {
        message.set(null);
    }

    public void clear() {
        ++sequence;
        if (pending != null) {
            pending.cancel();
        }
        original.set(null);
        originalImage.set(null);
        canvasImage.set(null);
        pageCount.set(0);
        page.set(0);
        preprocessed.set(null);
        geometry.set(null);
        sourceName.set("");
        sourcePath.set(null);
        pasted.set(false);
        busy.set(false);
        readout.set("Drop, paste (Ctrl+V) or open an image");
        ready = CompletableFuture.completedFuture(null);
    }

    private void accept(RgbImage rgb, Image fx, String name, Path path, boolean isPasted) {
        original.set(rgb);
        originalImage.set(fx);
        sourceName.set(name);
        sourcePath.set(path);
        pasted.set(isPasted);
        fit.set(true);
        update();
    }

    /** Geometry now; canvas pixels from the service. Also after a model load (its canvas size differs). */
    public void update() {
        RgbImage rgb = original.get();
        if (rgb == null) {
            return;
        }
        CanvasMode mode = settings.canvasModeProperty().get();
        CanvasGeometry g = service.geometry(rgb.width(), rgb.height(), mode);
        geometry.set(g);
        readout.set(g.describe());
        busy.set(true);
        long seq = sequence;
        TaskHandle<PreprocessedImage> h = service.setImage(rgb, mode);
        pending = h;
        ready = h.result();
        h.result().whenComplete((pre, e) -> {
            Image fx = pre == null ? null : FxImages.toFx(pre.canvas()); // on the session's preview thread
            ui.execute(() -> {
                if (pending != h || seq != sequence) {
                    return;
                }
                busy.set(false);
                if (e == null) {
                    canvasImage.set(fx);
                    preprocessed.set(pre);
                } else if (!Errors.isCancellation(e)) {
                    message.set(Errors.message(e));
                }
            });
        });
    }

    /** Completes when the service holds the current image (a question sent now is about it). */
    public CompletableFuture<?> ready() {
        return ready;
    }

    public void toggleMode() {
        ObjectProperty<CanvasMode> m = settings.canvasModeProperty();
        m.set(m.get() == CanvasMode.PAD ? CanvasMode.NATIVE : CanvasMode.PAD);
    }

    public void toggleGrid() {
        settings.showGridProperty().set(!settings.showGridProperty().get());
    }

    public void zoomIn() {
        zoomTo(scale.get() * 1.25);
    }

    public void zoomOut() {
        zoomTo(scale.get() / 1.25);
    }

    public void zoomTo(double s) {
        fit.set(false);
        scale.set(Math.max(MIN_SCALE, Math.min(MAX_SCALE, s)));
    }

    public void zoomFit() {
        fit.set(true);
    }

    public ObjectProperty<CanvasMode> modeProperty() {
        return settings.canvasModeProperty();
    }

    public BooleanProperty showGridProperty() {
        return settings.showGridProperty();
    }

    public ReadOnlyObjectProperty<RgbImage> originalProperty() {
        return original.getReadOnlyProperty();
    }

    /** The original as a JavaFX image (null until converted, off the UI thread). */
    public ReadOnlyObjectProperty<Image> originalImageProperty() {
        return originalImage.getReadOnlyProperty();
    }

    /** The canvas the model sees as a JavaFX image; set together with {@link #preprocessedProperty()}, canvas first. */
    public ReadOnlyObjectProperty<Image> canvasImageProperty() {
        return canvasImage.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty sourceNameProperty() {
        return sourceName.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<Path> sourcePathProperty() {
        return sourcePath.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty pastedProperty() {
        return pasted.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<CanvasGeometry> geometryProperty() {
        return geometry.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<PreprocessedImage> preprocessedProperty() {
        return preprocessed.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty readoutProperty() {
        return readout.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty messageProperty() {
        return message.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty busyProperty() {
        return busy.getReadOnlyProperty();
    }

    public ReadOnlyIntegerProperty pageCountProperty() {
        return pageCount.getReadOnlyProperty();
    }

    public ReadOnlyIntegerProperty pageProperty() {
        return page.getReadOnlyProperty();
    }

    public BooleanBinding canGoToPreviousPageProperty() {
        return canGoToPreviousPage;
    }

    public BooleanBinding canGoToNextPageProperty() {
        return canGoToNextPage;
    }

    /** Display scale (screen px per canvas px); the view sets it while {@link #fitProperty()} is on. */
    public DoubleProperty scaleProperty() {
        return scale;
    }

    public BooleanProperty fitProperty() {
        return fit;
    }

    public BooleanProperty showOriginalProperty() {
        return showOriginal;
    }
}
