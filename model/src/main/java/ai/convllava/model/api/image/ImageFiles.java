package ai.convllava.model.api.image;

import ai.convllava.model.image.ImageDecoder;

import java.nio.file.Path;

/**
 * Reading what a question can be about: an image file (PNG, JPEG, GIF, BMP, WebP; EXIF orientation
 * applied, alpha on white, as PIL gives it) or a page of a PDF, within the pixel limit. Every failure is
 * an {@link ImageDecodeException} naming the file and what is wrong with it.
 */
public final class ImageFiles {
    /** The formats read, for messages. */
    public static final String SUPPORTED = ImageDecoder.SUPPORTED;

    private ImageFiles() {
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
