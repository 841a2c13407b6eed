package ai.convllava.model.api.image;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ImageFiles#decodeImage}: the bytes of an image as the file would give them; no PDF, and the pixel limit named. */
class ImageFilesDecodeImageTest {
    static final Path WIDE = Path.of(System.getProperty("convllava.fixtures", "../tests/fixtures"), "tiny", "images", "wide.png");

    @Test
    void bytesDecodeAsTheFileDoes() throws IOException {
        RgbImage fromBytes = ImageFiles.decodeImage(Files.readAllBytes(WIDE), "wide", 1L << 24);
        assertEquals(ImageFiles.read(WIDE), fromBytes);
    }

    @Test
    void aPdfIsRefusedByName() {
        byte[] pdf = "%PDF-1.7\n%âãÏÓ\n".getBytes(StandardCharsets.ISO_8859_1);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageFiles.decodeImage(pdf, "messages[0].content[1]", 1L << 24));
        assertTrue(e.getMessage().startsWith("messages[0].content[1] is a PDF document"), e.getMessage());
    }

    @Test
    void thePixelLimitIsNamedWithTheSize() throws IOException {
        RgbImage full = ImageFiles.read(WIDE);
        ImageDecodeException e = assertThrows(ImageDecodeException.class,
                () -> ImageFiles.decodeImage(Files.readAllBytes(WIDE), "img", full.pixelCount() - 1));
        assertTrue(e.getMessage().contains(full.width() + " x " + full.height()), e.getMessage());
    }
}
