package ai.convllava.model.api.image;

import ai.convllava.model.image.ImageDecoder;
import ai.convllava.model.image.PdfPages;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Reading what a question can be about: an image file (PNG, JPEG, GIF, BMP, WebP; EXIF orientation
 * applied, alpha on white, as PIL gives it) or a page of a PDF, within the pixel limit. Every failure is
 * an {@link ImageDecodeException} naming the file and what is wrong with it.
 */
public final class ImageFiles {
    /** The formats read, for messages. */
    public static final String SUPPORTED = ImageDecoder.SUPPORTED;

    /** File name endings of what can be read, lower case, for picking files out of a folder. */
    public static final List<String> EXTENSIONS = List.of("png", "jpg", "jpeg", "gif", "bmp", "webp", "pdf");

    private ImageFiles() {
    }

    /** Whether the file's name ends as a readable image or a PDF does (the content is checked when it is read). */
    public static boolean hasReadableName(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1));
    }

    /** Whether the file starts as a PDF does. */
    public static boolean isPdf(Path file) {
        return PdfPages.isPdf(file);
    }

    /** A PDF's number of pages, without rendering any. */
    public static int pageCount(Path pdf) {
        return PdfPages.pageCount(pdf);
    }

    /** The image in a file (the first page of a PDF). */
    public static RgbImage read(Path file) {
        return ImageDecoder.decode(file);
    }

    /**
     * The image in a file, or page {@code page} (1-based) of a PDF with the PDF's page count; an image
     * file has no pages, its page count is 0 and {@code page} is not used.
     */
    public static DecodedImage read(Path file, int page) {
        return ImageDecoder.decodeFile(file, page);
    }
}
