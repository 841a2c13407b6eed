package ai.convllava.app.gui.store;

import ai.convllava.model.api.heatmap.AttentionMaps;
import ai.convllava.model.api.heatmap.TokenPiece;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.RgbImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

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

    /**
     * A heatmap file laid out as {@link HeatmapFiles#encode} writes it (a valid gzip stream), every header
     * field settable so a test can make one of them hostile. With the defaults it is a valid file: one step
     * of two layers over the 12 x 12 grid of a 192 x 192 canvas, one piece.
     */
    static final class Crafted {
        String question = "Which bar?";
        Integer questionLength; // null: the question's real length
        int[] geometry = {192, 192, 0, 32, 192, 128, 12, 12, 16};
        int pieceCount = 1;
        int pieceRepeat = -1; // -1: pieceCount pieces; else how many pieces are actually written
        String pieceText = "yes";
        int steps = 1;
        int layers = 2;
        int tokens = 144;
        byte[] png;

        byte[] gzip() throws IOException {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(bytes) {
                {
                    def.setLevel(Deflater.BEST_SPEED);
                }
            })) {
                out.writeInt(0x434c484d);
                out.writeInt(1);
                byte[] q = question.getBytes(StandardCharsets.UTF_8);
                out.writeInt(questionLength == null ? q.length : questionLength);
                out.write(q);
                for (int v : geometry) {
                    out.writeInt(v);
                }
                out.writeInt(pieceCount);
                byte[] t = pieceText.getBytes(StandardCharsets.UTF_8);
                int written = pieceRepeat < 0 ? pieceCount : pieceRepeat;
                for (int p = 0; p < written; p++) {
                    out.writeInt(t.length);
                    out.write(t);
                    out.writeInt(p);
                    out.writeInt(p + 1);
                    out.writeBoolean(false);
                }
                out.writeInt(steps);
                out.writeInt(layers);
                out.writeInt(tokens);
                long cells = (long) steps * layers * tokens;
                if (steps > 0 && layers > 0 && tokens > 0 && cells <= 100_000) { // the cells only when few: the header alone must be refused
                    for (int c = 0; c < steps * layers; c++) {
                        out.writeFloat(0.5f);
                        out.write(new byte[tokens]);
                    }
                }
                byte[] image = png != null ? png : ConversationStore.png(RgbImage.filled(192, 192, 30, 120, 200));
                out.writeInt(image.length);
                out.write(image);
            }
            return bytes.toByteArray();
        }
    }

    /** The IOException the reader throws for {@code file}'s bytes, its message checked (the file named, then the field and numbers). */
    private void assertRefused(byte[] file, String expected) throws IOException {
        HeatmapFiles files = new HeatmapFiles(tmp.resolve("heatmaps"));
        Path f = files.fileOf("abc", 1);
        Files.createDirectories(f.getParent());
        Files.write(f, file);
        IOException e = assertThrows(IOException.class, () -> files.load("abc", 1));
        assertEquals("heatmap file abc-1.heatmap: " + expected, e.getMessage());
    }

    /** A PNG signature and IHDR claiming {@code width x height} (valid CRCs), then IEND: a few bytes that would decode to GBs. */
    private static byte[] pngHeader(int width, int height) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(width);
        h.writeInt(height);
        h.write(new byte[] {8, 2, 0, 0, 0}); // 8-bit RGB, deflate, adaptive filter, no interlace
        chunk(out, "IHDR", ihdr.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return bytes.toByteArray();
    }

    private static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt(data.length);
        out.write(t);
        out.write(data);
        out.writeInt((int) crc.getValue());
    }

    @Test
    void aCraftedFileWithTheDefaultsReads() throws Exception {
        HeatmapFiles files = new HeatmapFiles(tmp.resolve("heatmaps"));
        Path f = files.fileOf("abc", 1);
        Files.createDirectories(f.getParent());
        Files.write(f, new Crafted().gzip());
        HeatmapFiles.Saved back = files.load("abc", 1).orElseThrow();
        assertEquals(1, back.maps().stepCount());
        assertEquals(2, back.maps().layers());
        assertEquals("Which bar?", back.question());
    }

    @Test
    void hugeStepsWithZeroLayersAreRefusedInsteadOfLoopingOverThem() throws Exception {
        Crafted c = new Crafted();
        c.steps = 40_000; // the old product check saw 40000 x 0 x 144 = 0 cells
        c.layers = 0;
        assertRefused(c.gzip(), "steps = 40000, expected 1..32768");
        c.steps = Integer.MAX_VALUE;
        assertRefused(c.gzip(), "steps = 2147483647, expected 1..32768");
    }

    @Test
    void zeroOrNegativeStepsAndLayersAreRefused() throws Exception {
        Crafted c = new Crafted();
        c.layers = 0;
        assertRefused(c.gzip(), "layers = 0, expected 1..256");
        c.layers = -2; // -2 x -72 = 144 cells passed the old product check, then new byte[-72]
        c.tokens = -72;
        assertRefused(c.gzip(), "layers = -2, expected 1..256");
        c = new Crafted();
        c.steps = -1; // -1 x -1 x 144 = 144 cells
        c.layers = -1;
        assertRefused(c.gzip(), "steps = -1, expected 1..32768");
        c = new Crafted();
        c.steps = 0;
        assertRefused(c.gzip(), "steps = 0, expected 1..32768");
    }

    @Test
    void tokensThatAreNotTheGridsCellsAreRefusedBeforeAllocating() throws Exception {
        Crafted c = new Crafted();
        c.layers = 1;
        c.tokens = 1 << 28; // 2^28 cells passed the old product check: 1 GiB of floats allocated before reading any
        assertRefused(c.gzip(), "tokens = 268435456, expected 144 (the 12 x 12 grid)");
        c.tokens = 0;
        assertRefused(c.gzip(), "tokens = 0, expected 144 (the 12 x 12 grid)");
    }

    @Test
    void moreCellsThanTheCapAreRefused() throws Exception {
        Crafted c = new Crafted();
        c.steps = 32768;
        c.layers = 256;
        assertRefused(c.gzip(), "cells = 32768 steps x 256 layers x 144 tokens = 1207959552, expected at most " + HeatmapFiles.MAX_CELLS);
    }

    @Test
    void aCanvasOrGridBeyondTheLargestIsRefused() throws Exception {
        Crafted c = new Crafted();
        c.geometry = new int[] {40_000, 192, 0, 0, 192, 192, 12, 2500, 16};
        assertRefused(c.gzip(), "canvasWidth = 40000, expected 1..6144");
        c.geometry = new int[] {192, 192, 0, 0, 192, 192, 12, 12, -16};
        assertRefused(c.gzip(), "cellSize = -16, expected 1..6144");
        c.geometry = new int[] {6144, 6144, 0, 0, 192, 192, 96, 96, 64};
        assertRefused(c.gzip(), "canvas = 6144 x 6144 = 37748736 pixels, expected at most " + HeatmapFiles.MAX_CANVAS_PIXELS);
    }

    @Test
    void aCanvasPngClaimingAHugeSizeIsRefusedBeforeItIsDecoded() throws Exception {
        Crafted c = new Crafted();
        c.png = pngHeader(40_000, 40_000);
        assertRefused(c.gzip(), "canvas image is 40000 x 40000, expected 192 x 192");
        c.png = pngHeader(191, 192);
        assertRefused(c.gzip(), "canvas image is 191 x 192, expected 192 x 192");
    }

    @Test
    void aHugeStringLengthIsRefused() throws Exception {
        Crafted c = new Crafted();
        c.questionLength = 1 << 28;
        assertRefused(c.gzip(), "question = 268435456 bytes, expected 0.." + HeatmapFiles.MAX_QUESTION_BYTES);
        c = new Crafted();
        c.pieceText = "x".repeat(HeatmapFiles.MAX_PIECE_BYTES + 1);
        assertRefused(c.gzip(), "piece 0 text = " + (HeatmapFiles.MAX_PIECE_BYTES + 1) + " bytes, expected 0.." + HeatmapFiles.MAX_PIECE_BYTES);
    }

    @Test
    void aHugePieceCountOrMorePiecesThanStepsAreRefused() throws Exception {
        Crafted c = new Crafted();
        c.pieceCount = 1 << 28;
        c.pieceRepeat = 0;
        assertRefused(c.gzip(), "pieces = 268435456, expected 0..32768");
        c = new Crafted();
        c.pieceCount = 3; // pieces 0..1, 1..2, 2..3 over one step
        assertRefused(c.gzip(), "steps = 1, expected 3..32768");
    }

    @Test
    void aFileOverTheSizeCapIsRefusedBeforeItIsRead() throws Exception {
        HeatmapFiles files = new HeatmapFiles(tmp.resolve("heatmaps"));
        Path f = files.fileOf("abc", 1);
        Files.createDirectories(f.getParent());
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.setLength(HeatmapFiles.MAX_FILE_BYTES + 1L); // sparse: no disk nor memory spent
        }
        IOException e = assertThrows(IOException.class, () -> files.load("abc", 1));
        assertEquals("heatmap file abc-1.heatmap: " + (HeatmapFiles.MAX_FILE_BYTES + 1L) + " bytes, expected at most " + HeatmapFiles.MAX_FILE_BYTES,
                e.getMessage());
    }

    private interface Writing {
        void to(DataOutputStream out) throws IOException;
    }

    private static byte[] gzipOf(Writing w) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(bytes))) {
            w.to(out);
        }
        return bytes.toByteArray();
    }

    @Test
    void piecesWhoseTextsTogetherExceedTheCapAreRefused() throws Exception {
        // a header announcing 32768 pieces, then one 64 KiB piece as its own gzip member repeated (a reader
        // takes concatenated members as one stream): each piece within its bound, but 2 GiB of text in all
        byte[] head = gzipOf(out -> {
            out.writeInt(0x434c484d);
            out.writeInt(1);
            out.writeInt(0);
            for (int v : new int[] {192, 192, 0, 32, 192, 128, 12, 12, 16}) {
                out.writeInt(v);
            }
            out.writeInt(HeatmapFiles.MAX_STEPS);
        });
        byte[] piece = gzipOf(out -> {
            out.writeInt(HeatmapFiles.MAX_PIECE_BYTES);
            out.write("a".repeat(HeatmapFiles.MAX_PIECE_BYTES).getBytes(StandardCharsets.US_ASCII));
            out.writeInt(0);
            out.writeInt(1);
            out.writeBoolean(false);
        });
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        file.write(head);
        for (int n = 0; n < HeatmapFiles.MAX_PIECES_TEXT_BYTES / HeatmapFiles.MAX_PIECE_BYTES + 1; n++) {
            file.write(piece);
        }
        assertTrue(file.size() < 1 << 20, file.size() + " bytes");
        long total = HeatmapFiles.MAX_PIECES_TEXT_BYTES + (long) HeatmapFiles.MAX_PIECE_BYTES;
        assertRefused(file.toByteArray(), "piece texts = " + total + " bytes in total after piece 64, expected at most " + HeatmapFiles.MAX_PIECES_TEXT_BYTES);
    }

    @Test
    void aStreamThatDecompressesBeyondTheLimitIsRefused() throws Exception {
        byte[] valid = HeatmapFiles.encode(map(40, 1)); // ~190 KB of cells once decompressed
        assertEquals(40, HeatmapFiles.decode(valid, "x.heatmap", 1 << 20).maps().stepCount());
        IOException e = assertThrows(IOException.class, () -> HeatmapFiles.decode(valid, "x.heatmap", 1 << 16));
        assertEquals("heatmap file x.heatmap: more than 65536 bytes once decompressed", e.getMessage());
    }
}
