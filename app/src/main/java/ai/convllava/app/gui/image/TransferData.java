package ai.convllava.app.gui.image;

import javafx.scene.image.Image;
import javafx.scene.input.Clipboard;

import java.io.File;
import java.util.List;
import java.util.Locale;

/**
 * What a drop or a paste offers, read from a {@link javafx.scene.input.Dragboard} or the
 * {@link Clipboard} (a Dragboard is a Clipboard): files, a URL (a browser or file manager may give a
 * {@code file:} URL), or image content (screenshots, images dragged out of a browser).
 */
public record TransferData(List<File> files, String url, Image image) {
    public TransferData {
        files = files == null ? List.of() : List.copyOf(files);
    }

    public static TransferData of(Clipboard cb) {
        List<File> files = cb.hasFiles() ? cb.getFiles() : List.of();
        String url = cb.hasUrl() ? cb.getUrl() : null;
        if (url == null && cb.hasString()) {
            String s = cb.getString().strip();
            if (s.toLowerCase(Locale.ROOT).startsWith("file:")) {
                url = s;
            }
        }
        Image image = cb.hasImage() ? cb.getImage() : null;
        return new TransferData(files, url, image);
    }

    public static TransferData ofFiles(File... files) {
        return new TransferData(List.of(files), null, null);
    }

    /** Worth accepting a drag over the window. */
    public boolean hasSomething() {
        return !files.isEmpty() || url != null || image != null;
    }
}
