package ai.convllava.app.gui.store;

import ai.convllava.model.api.heatmap.AttentionMaps;
import ai.convllava.model.api.heatmap.TokenPiece;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeatmapFilesTest {
    @TempDir
    Path tmp;

    /** A 7B-shaped map: 32 layers over a 12 x 12 grid, {@code steps} steps of softmax-like rows. */
    static HeatmapFiles.Saved map(int steps, long seed) {
        CanvasGeometry g = new CanvasGeometry(192, 192, 0, 32, 192, 128, 12, 12, 16);
        Random r = new Random(seed);
        List<float[][]> recorded = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
            float[][] step = new float[32][144];
            for (float[] row : step) {
                float sum = 0;
                for (int i = 0; i < row.length; i++) {
                    row[i] = (float) Math.exp(3 * r.nextGaussian());
                    sum += row[i];
                }
                for (int i = 0; i < row.length; i++) {
                    row[i] /= sum;
                }
            }
            recorded.add(step);
        }
        List<TokenPiece> pieces = new ArrayList<>();
        for (int s = 0; s < steps - 1; s++) {
            pieces.add(new TokenPiece("w\u00e9" + s, s, s + 1, false));
        }
        pieces.add(new TokenPiece("", steps - 1, steps, true));
        return new HeatmapFiles.Saved(new AttentionMaps(g, recorded, pieces), RgbImage.filled(192, 192, 30, 120, 200), "Which bar is tallest?");
    }

    @Test
    void aMapComesBackWithItsPiecesGridCanvasAndQuestionAndEachCellWithin8Bits() throws Exception {
        HeatmapFiles files = new HeatmapFiles(tmp.resolve("heatmaps"));
        HeatmapFiles.Saved m = map(40, 1);
        files.save("abc-1", 3, m);
        HeatmapFiles.Saved back = files.load("abc-1", 3).orElseThrow();
        assertEquals(m.question(), back.question());
        assertEquals(m.maps().geometry(), back.maps().geometry());
        assertEquals(m.maps().pieces(), back.maps().pieces());
        assertEquals(m.canvas().width(), back.canvas().width());
        assertArrayEquals(m.canvas().rgb(), back.canvas().rgb());
        assertEquals(40, back.maps().stepCount());
        for (int s = 0; s < 40; s++) {
            float[][] a = m.maps().step(s);
            float[][] b = back.maps().step(s);
            for (int l = 0; l < 32; l++) {
                float max = 0;
                for (float v : a[l]) {
                    max = Math.max(max, v);
                }
                for (int i = 0; i < 144; i++) {
                    assertEquals(a[l][i], b[l][i], max / 255 / 2 + 1e-7f, "step " + s + " layer " + l + " token " + i);
                }
            }
        }
        long cells = 40L * 32 * 144;
        assertTrue(Files.size(files.fileOf("abc-1", 3)) < cells + 40L * 32 * 4 + 4096,
                "about a byte per cell: " + Files.size(files.fileOf("abc-1", 3)) + " bytes for " + cells + " cells");
        assertTrue(files.load("abc-1", 5).isEmpty(), "an answer without a saved map");
    }

    @Test
    void theCapDropsTheLeastRecentlyWrittenMapsFirst() throws Exception {
        HeatmapFiles files = new HeatmapFiles(tmp.resolve("heatmaps"));
        for (int i = 0; i < 4; i++) {
            files.save("conv-" + i, 1, map(10, i));
            Files.setLastModifiedTime(files.fileOf("conv-" + i, 1), FileTime.fromMillis(1_000_000L * (i + 1)));
        }
        long newestTwo = Files.size(files.fileOf("conv-2", 1)) + Files.size(files.fileOf("conv-3", 1));
        assertEquals(2, files.trimTo(newestTwo));
        assertEquals(newestTwo, files.totalBytes());
        assertFalse(Files.exists(files.fileOf("conv-0", 1)), "the oldest goes first");
        assertFalse(Files.exists(files.fileOf("conv-1", 1)));
        assertTrue(Files.exists(files.fileOf("conv-2", 1)));
        assertTrue(Files.exists(files.fileOf("conv-3", 1)));
        assertEquals(0, files.trimTo(Long.MAX_VALUE));
    }

    @Test
    void aDamagedFileSaysSoInsteadOfThrowingSomethingElse() throws Exception {
        HeatmapFiles files = new HeatmapFiles(tmp.resolve("heatmaps"));
        files.save("abc", 1, map(3, 2));
        Path f = files.fileOf("abc", 1);
        byte[] b = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(b, b.length / 2));
        assertThrows(IOException.class, () -> files.load("abc", 1));
        Files.writeString(f, "not a heatmap");
        assertThrows(IOException.class, () -> files.load("abc", 1));
        assertThrows(IllegalArgumentException.class, () -> files.fileOf("../x", 1));
    }
}
