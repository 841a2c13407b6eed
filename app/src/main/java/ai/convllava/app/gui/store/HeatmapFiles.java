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
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;

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
    /** Guards against a damaged or foreign file asking for absurd allocations. */
    private static final long MAX_CELLS = 1L << 28;

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
        return Optional.of(decode(Files.readAllBytes(f)));
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

    static Saved decode(byte[] data) throws IOException {
        try (DataInputStream in = new DataInputStream(new GZIPInputStream(new ByteArrayInputStream(data)))) {
            if (in.readInt() != MAGIC) {
                throw new IOException("not a heatmap file");
            }
            int version = in.readInt();
            if (version != VERSION) {
                throw new IOException("heatmap file version " + version + ", this app reads " + VERSION);
            }
            String question = readString(in);
            CanvasGeometry g = new CanvasGeometry(in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(),
                    in.readInt(), in.readInt());
            int pieceCount = in.readInt();
            check(pieceCount, "pieces");
            List<TokenPiece> pieces = new ArrayList<>();
            for (int p = 0; p < pieceCount; p++) {
                pieces.add(new TokenPiece(readString(in), in.readInt(), in.readInt(), in.readBoolean()));
            }
            int steps = in.readInt();
            int layers = in.readInt();
            int tokens = in.readInt();
            check((long) steps * layers * tokens, "cells");
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
            check(pngLength, "canvas bytes");
            byte[] png = in.readNBytes(pngLength);
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
            if (img == null) {
                throw new IOException("the heatmap's canvas image cannot be read");
            }
            return new Saved(new AttentionMaps(g, recorded, pieces), rgb(img), question);
        } catch (IllegalArgumentException e) {
            throw new IOException("damaged heatmap file: " + e.getMessage(), e);
        }
    }

    private static void check(long n, String what) throws IOException {
        if (n < 0 || n > MAX_CELLS) {
            throw new IOException("damaged heatmap file: " + n + " " + what);
        }
    }

    private static RgbImage rgb(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        byte[] rgb = new byte[w * h * 3];
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

    private static String readString(DataInputStream in) throws IOException {
        int n = in.readInt();
        check(n, "string bytes");
        return new String(in.readNBytes(n), StandardCharsets.UTF_8);
    }
}
