package ai.convllava.model.api.image;

/**
 * What a file shows: its image, or one page of a PDF.
 *
 * @param pageCount the PDF's number of pages, 0 for an image file
 */
public record DecodedImage(RgbImage image, int pageCount) {
}
