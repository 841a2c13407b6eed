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

    /**
     * An image sent as bytes (the local server's data: URLs), within {@code maxPixels}. Only images: a
     * PDF is refused here, because a caller that names its bytes an image (image/png ...) must not get a
     * document rendered behind its back (PDFBox fonts and all).
     *
     * @param name what the messages call it, e.g. "messages[0].content[1].image_url"
     */
    public static RgbImage decodeImage(byte[] bytes, String name, long maxPixels) {
        if (bytes != null && bytes.length >= 5 && bytes[0] == '%' && bytes[1] == 'P' && bytes[2] == 'D' && bytes[3] == 'F' && bytes[4] == '-') {
            throw new ImageDecodeException(name + " is a PDF document, not an image (PNG, JPEG, GIF, BMP or WebP)");
        }
        return ImageDecoder.decode(bytes, name, maxPixels);
    }
}
