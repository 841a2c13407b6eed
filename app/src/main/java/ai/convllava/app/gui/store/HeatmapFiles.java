package ai.convllava.app.gui.store;

import ai.convllava.model.api.heatmap.AttentionMaps;
import ai.convllava.model.api.heatmap.TokenPiece;
import ai.convllava.model.api.image.CanvasGeometry;
import ai.convllava.model.api.image.RgbImage;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Answers' heatmaps on disk, so a map can be opened again after switching conversations or restarting:
 * {@code heatmaps/<conversation id>-<message index>.heatmap}, one per answer, written atomically. A map
 * is stored with 8 bits per cell (each layer's row scaled by its own maximum, which is all a colour
 * scale shows), its answer pieces, the grid and the canvas the model saw (PNG), gzipped. The folder is
 * kept under a size cap, the least recently written maps dropped first.
 */
public final class HeatmapFiles {
    private static final int MAGIC = 0x434c484d; // "CLHM"
    private static final int VERSION = 1;
    private static final String SUFFIX = ".heatmap";
    /*
     * Bounds on what a file may ask for, so a damaged or hostile file is refused (IOException) before any
     * large allocation. They are well above what the app writes: the largest canvas is native mode's
     * 4 x 1536 = 6144 long side by a 1536 short side (96 x 24 = 2304 tokens at stride 64), answers are at
     * most 32768 tokens (GenerationConfig), models have tens of layers.
     */
    /** Largest canvas side: native mode caps the long side at 4x the 1536 canvas. */
    static final int MAX_CANVAS_SIDE = 4 * 1536;
    /** Largest canvas area: a 6144 x 1536 native canvas. */
    static final long MAX_CANVAS_PIXELS = 4L * 1536 * 1536;
    static final int MAX_GRID_SIDE = 256;
    static final int MAX_LAYERS = 256;
    /** Recorded steps (one per generated token): GenerationConfig's largest maxNewTokens. */
    static final int MAX_STEPS = 32768;
    /**
     * Stored cells (one byte each on disk, one float each in memory), the cap the reader always had: a long
     * native-mode answer (2304 tokens x 32 layers x ~1800 steps) needs more than 2^26, and the cells are
     * allocated a step at a time as they are read, so a file must really hold them to cost memory.
     */
    static final long MAX_CELLS = 1L << 28;
    static final int MAX_PIECE_BYTES = 64 * 1024;
    /** The answer's text, all pieces together (32768 tokens of text are a few hundred KiB). */
    static final int MAX_PIECES_TEXT_BYTES = 4 * 1024 * 1024;
    static final int MAX_QUESTION_BYTES = 1024 * 1024;
    /** The canvas PNG: a 6144 x 1536 RGB canvas is 27 MiB raw. */
    static final int MAX_PNG_BYTES = 64 * 1024 * 1024;
    /** The file on disk (gzipped): above the largest decodable content, MAX_CELLS bytes of cells and the canvas. */
    static final int MAX_FILE_BYTES = 512 * 1024 * 1024;
    /** The file once decompressed: cells, their rows' maxima, pieces, question and canvas, with room to spare. */
    static final long MAX_DECOMPRESSED_BYTES = 512L * 1024 * 1024;

    /** One answer's map as stored: its maps, the canvas the model saw and the question it answered. */
    public record Saved(AttentionMaps maps, RgbImage canvas, String question) {
    }

    private final Path dir;

    public HeatmapFiles(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** The file of one answer's map. */
    public Path fileOf(String conversationId, int messageIndex) {
        if (!conversationId.matches("[A-Za-z0-9-]+") || messageIndex < 0) {
            throw new IllegalArgumentException("bad heatmap key " + conversationId + " #" + messageIndex);
        }
        return dir.resolve(conversationId + "-" + messageIndex + SUFFIX);
    }

    public synchronized void save(String conversationId, int messageIndex, Saved source) throws IOException {
        AtomicFiles.write(fileOf(conversationId, messageIndex), encode(source));
    }

    /** The map of one answer, if it was saved and can be read (an unreadable file is reported and skipped by the caller). */
    public synchronized Optional<Saved> load(String conversationId, int messageIndex) throws IOException {
        Path f = fileOf(conversationId, messageIndex);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        return Optional.of(decode(readCapped(f), f.getFileName().toString()));
    }

    /** The file's bytes, refused (before reading) when it is larger than {@link #MAX_FILE_BYTES}; read through a cap in case it grows meanwhile. */
    private static byte[] readCapped(Path f) throws IOException {
        String where = "heatmap file " + f.getFileName() + ": ";
        long size = Files.size(f);
        if (size > MAX_FILE_BYTES) {
            throw new IOException(where + size + " bytes, expected at most " + MAX_FILE_BYTES);
        }
        byte[] data;
        try (InputStream in = Files.newInputStream(f)) {
            data = in.readNBytes(MAX_FILE_BYTES + 1);
        }
        if (data.length > MAX_FILE_BYTES) {
            throw new IOException(where + "more than " + MAX_FILE_BYTES + " bytes, expected at most " + MAX_FILE_BYTES);
        }
        return data;
    }

    /** Every map file of one conversation. */
    public synchronized List<Path> filesOf(String conversationId) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        String prefix = conversationId + "-";
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith(prefix) && n.endsWith(SUFFIX) && n.substring(prefix.length(), n.length() - SUFFIX.length()).matches("[0-9]+");
            }).forEach(out::add);
        }
        return out;
    }

    /** The bytes the maps take on disk. */
    public synchronized long totalBytes() throws IOException {
        long total = 0;
        for (Path f : all()) {
            total += Files.size(f);
        }
        return total;
    }

    /** Deletes the least recently written maps until the folder is within {@code capBytes}; returns how many were deleted. */
    public synchronized int trimTo(long capBytes) throws IOException {
        List<Path> files = all();
        long total = 0;
        List<long[]> info = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            long size = Files.size(files.get(i));
            total += size;
            info.add(new long[] {Files.getLastModifiedTime(files.get(i)).toMillis(), size, i});
        }
        info.sort(Comparator.comparingLong((long[] x) -> x[0]).thenComparing(x -> files.get((int) x[2]).getFileName().toString()));
        int deleted = 0;
        for (long[] x : info) {
            if (total <= capBytes) {
                break;
            }
            Files.deleteIfExists(files.get((int) x[2]));
            total -= x[1];
            deleted++;
        }
        return deleted;
    }

    private List<Path> all() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(SUFFIX) && Files.isRegularFile(p)).forEach(out::add);
        }
        return out;
    }

    static byte[] encode(Saved source) throws IOException {
        AttentionMaps maps = source.maps();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(bytes))) {
            out.writeInt(MAGIC);
            out.writeInt(VERSION);
            writeString(out, source.question());
            CanvasGeometry g = maps.geometry();
            for (int v : new int[] {g.canvasWidth(), g.canvasHeight(), g.imageX(), g.imageY(), g.imageWidth(), g.imageHeight(), g.gridRows(),
                    g.gridCols(), g.cellSize()}) {
                out.writeInt(v);
            }
            out.writeInt(maps.pieces().size());
            for (TokenPiece p : maps.pieces()) {
                writeString(out, p.text());
                out.writeInt(p.fromStep());
                out.writeInt(p.toStep());
                out.writeBoolean(p.end());
            }
            int layers = maps.layers();
            int tokens = maps.imageTokens();
            out.writeInt(maps.stepCount());
            out.writeInt(layers);
            out.writeInt(tokens);
            byte[] row = new byte[tokens];
            for (int s = 0; s < maps.stepCount(); s++) {
                float[][] step = maps.step(s);
                for (int l = 0; l < layers; l++) {
                    float max = 0;
                    for (float v : step[l]) {
                        max = Math.max(max, v);
                    }
                    out.writeFloat(max);
                    for (int i = 0; i < tokens; i++) {
                        row[i] = (byte) (max > 0 ? Math.round(Math.max(0, step[l][i]) / max * 255) : 0);
                    }
                    out.write(row);
                }
            }
            byte[] png = ConversationStore.png(source.canvas());
            out.writeInt(png.length);
            out.write(png);
        }
        return bytes.toByteArray();
    }

    /** Reads one saved map; every damaged or out-of-bounds field is reported as an IOException naming {@code name}. */
    static Saved decode(byte[] data, String name) throws IOException {
        return decode(data, name, MAX_DECOMPRESSED_BYTES);
    }

    /** {@link #decode(byte[], String)} with the decompressed stream capped at {@code maxDecompressed} bytes. */
    static Saved decode(byte[] data, String name, long maxDecompressed) throws IOException {
        String where = "heatmap file " + name + ": ";
        try (DataInputStream in = new DataInputStream(new LimitedInputStream(new GZIPInputStream(new ByteArrayInputStream(data)),
                maxDecompressed, where))) {
            if (in.readInt() != MAGIC) {
                throw new IOException(where + "not a heatmap file");
            }
            int version = in.readInt();
            if (version != VERSION) {
                throw new IOException(where + "version " + version + ", this app reads " + VERSION);
            }
            String question = readString(in, where, "question", MAX_QUESTION_BYTES);
            int canvasWidth = in.readInt();
            int canvasHeight = in.readInt();
            int imageX = in.readInt();
            int imageY = in.readInt();
            int imageWidth = in.readInt();
            int imageHeight = in.readInt();
            int gridRows = in.readInt();
            int gridCols = in.readInt();
            int cellSize = in.readInt();
            range(where, "canvasWidth", canvasWidth, 1, MAX_CANVAS_SIDE);
            range(where, "canvasHeight", canvasHeight, 1, MAX_CANVAS_SIDE);
            if ((long) canvasWidth * canvasHeight > MAX_CANVAS_PIXELS) {
                throw new IOException(where + "canvas = " + canvasWidth + " x " + canvasHeight + " = " + (long) canvasWidth * canvasHeight
                        + " pixels, expected at most " + MAX_CANVAS_PIXELS);
            }
            range(where, "gridRows", gridRows, 1, MAX_GRID_SIDE);
            range(where, "gridCols", gridCols, 1, MAX_GRID_SIDE);
            range(where, "cellSize", cellSize, 1, MAX_CANVAS_SIDE);
            CanvasGeometry g;
            try {
                g = new CanvasGeometry(canvasWidth, canvasHeight, imageX, imageY, imageWidth, imageHeight, gridRows, gridCols, cellSize);
            } catch (IllegalArgumentException e) {
                throw new IOException(where + "geometry: " + e.getMessage(), e);
            }
            int pieceCount = in.readInt();
            range(where, "pieces", pieceCount, 0, MAX_STEPS);
            List<TokenPiece> pieces = new ArrayList<>();
            long textBytes = 0;
            for (int p = 0; p < pieceCount; p++) {
                String text = readString(in, where, "piece " + p + " text", MAX_PIECE_BYTES);
                textBytes += text.getBytes(StandardCharsets.UTF_8).length;
                if (textBytes > MAX_PIECES_TEXT_BYTES) {
                    throw new IOException(where + "piece texts = " + textBytes + " bytes in total after piece " + p + ", expected at most "
                            + MAX_PIECES_TEXT_BYTES);
                }
                int fromStep = in.readInt();
                int toStep = in.readInt();
                boolean end = in.readBoolean();
                range(where, "piece " + p + " fromStep", fromStep, 0, MAX_STEPS - 1);
                range(where, "piece " + p + " toStep", toStep, fromStep + 1, MAX_STEPS);
                pieces.add(new TokenPiece(text, fromStep, toStep, end));
            }
            int steps = in.readInt();
            int layers = in.readInt();
            int tokens = in.readInt();
            range(where, "steps", steps, Math.max(1, pieceCount), MAX_STEPS);
            for (int p = 0; p < pieceCount; p++) {
                if (pieces.get(p).toStep() > steps) {
                    throw new IOException(where + "piece " + p + " toStep = " + pieces.get(p).toStep() + ", expected at most steps = " + steps);
                }
            }
            range(where, "layers", layers, 1, MAX_LAYERS);
            if (tokens != g.tokenCount()) {
                throw new IOException(where + "tokens = " + tokens + ", expected " + g.tokenCount() + " (the " + gridRows + " x " + gridCols + " grid)");
            }
            long cells = (long) steps * layers * tokens;
            if (cells > MAX_CELLS) {
                throw new IOException(where + "cells = " + steps + " steps x " + layers + " layers x " + tokens + " tokens = " + cells
                        + ", expected at most " + MAX_CELLS);
            }
            List<float[][]> recorded = new ArrayList<>();
            byte[] row = new byte[tokens];
            for (int s = 0; s < steps; s++) {
                float[][] step = new float[layers][tokens];
                for (int l = 0; l < layers; l++) {
                    float max = in.readFloat();
                    in.readFully(row);
                    for (int i = 0; i < tokens; i++) {
                        step[l][i] = (row[i] & 0xff) / 255f * max;
                    }
                }
                recorded.add(step);
            }
            int pngLength = in.readInt();
            range(where, "canvas bytes", pngLength, 1, MAX_PNG_BYTES);
            byte[] png = in.readNBytes(pngLength);
            if (png.length != pngLength) {
                throw new IOException(where + "canvas bytes = " + pngLength + " but the file ends after " + png.length);
            }
            RgbImage canvas = rgb(readCanvas(png, canvasWidth, canvasHeight, where));
            try {
                return new Saved(new AttentionMaps(g, recorded, pieces), canvas, question);
            } catch (IllegalArgumentException e) {
                throw new IOException(where + e.getMessage(), e);
            }
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(where)) {
                throw e;
            }
            throw new IOException(where + "damaged (" + e + ")", e);
        }
    }

    /** Decodes the stored canvas only after its header says it is exactly the stored canvas size (a PNG may claim any size). */
    private static BufferedImage readCanvas(byte[] png, int width, int height, String where) throws IOException {
        try (ImageInputStream iis = ImageIO.createImageInputStream(new ByteArrayInputStream(png))) {
            Iterator<ImageReader> readers = iis == null ? null : ImageIO.getImageReaders(iis);
            if (readers == null || !readers.hasNext()) {
                throw new IOException(where + "the canvas image is not in a readable format");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(iis, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                if (w != width || h != height) {
                    throw new IOException(where + "canvas image is " + w + " x " + h + ", expected " + width + " x " + height);
                }
                BufferedImage img = reader.read(0);
                if (img == null) {
                    throw new IOException(where + "the canvas image cannot be read");
                }
                return img;
            } catch (RuntimeException e) { // some readers throw unchecked exceptions on damaged data
                throw new IOException(where + "the canvas image cannot be read (" + e + ")", e);
            } finally {
                reader.dispose();
            }
        }
    }

    private static void range(String where, String field, long n, long min, long max) throws IOException {
        if (n < min || n > max) {
            throw new IOException(where + field + " = " + n + ", expected " + min + ".." + max);
        }
    }

    /** Fails with an IOException once more than {@code cap} bytes were read: bounds what a small gzip can expand to. */
    private static final class LimitedInputStream extends FilterInputStream {
        private final long cap;
        private final String where;
        private long read;

        LimitedInputStream(InputStream in, long cap, String where) {
            super(in);
            this.cap = cap;
            this.where = where;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, (int) Math.min(len, cap - read + 1));
            if (n > 0) {
                count(n);
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long k = super.skip(Math.min(n, cap - read + 1));
            count(k);
            return k;
        }

        private void count(long n) throws IOException {
            read += n;
            if (read > cap) {
                throw new IOException(where + "more than " + cap + " bytes once decompressed");
            }
        }
    }

    private static RgbImage rgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] rgb = new byte[Math.toIntExact((long) w * h * 3)]; // w and h are checked against the stored canvas size first
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = img.getRGB(x, y);
                int o = (y * w + x) * 3;
                rgb[o] = (byte) (p >> 16);
                rgb[o + 1] = (byte) (p >> 8);
                rgb[o + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    private static String readString(DataInputStream in, String where, String field, int cap) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > cap) {
            throw new IOException(where + field + " = " + n + " bytes, expected 0.." + cap);
        }
        byte[] b = in.readNBytes(n);
        if (b.length != n) {
            throw new IOException(where + field + " = " + n + " bytes but the file ends after " + b.length);
        }
        return new String(b, StandardCharsets.UTF_8);
    }
}
