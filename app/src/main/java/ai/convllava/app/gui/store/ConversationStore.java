package ai.convllava.app.gui.store;

import ai.convllava.model.api.image.RgbImage;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Conversations on disk: {@code conversations/<id>.json} (written atomically) and {@code images/<id>.png}
 * for pasted images, under the data folder; a deleted conversation waits in {@code conversations/trash/}
 * for an undo until the next start empties it. Thread-safe for the app's use (one writer thread).
 */
public final class ConversationStore {
    private static final Logger LOG = LoggerFactory.getLogger(ConversationStore.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path conversationsDir;
    private final Path imagesDir;
    private final HeatmapFiles heatmaps;

    public ConversationStore(Path conversationsDir, Path imagesDir) {
        this.conversationsDir = conversationsDir;
        this.imagesDir = imagesDir;
        this.heatmaps = new HeatmapFiles(conversationsDir.resolveSibling("heatmaps"));
    }

    /** The answers' heatmaps, beside the conversations ({@code heatmaps/}). */
    public HeatmapFiles heatmaps() {
        return heatmaps;
    }

    public static String newId() {
        return UUID.randomUUID().toString();
    }

    public Path imagesDir() {
        return imagesDir;
    }

    public synchronized void save(SavedConversation c) throws IOException {
        AtomicFiles.write(fileOf(c.id()), JSON.writeValueAsBytes(c));
    }

    /** Every readable conversation, most recently updated first; unreadable files are skipped (and logged). */
    public synchronized List<SavedConversation> list() {
        List<SavedConversation> out = new ArrayList<>();
        if (!Files.isDirectory(conversationsDir)) {
            return out;
        }
        try (Stream<Path> files = Files.list(conversationsDir)) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().endsWith(".json"))::iterator) {
                try {
                    out.add(JSON.readValue(f.toFile(), SavedConversation.class));
                } catch (IOException | RuntimeException e) {
                    LOG.warn("skipping unreadable conversation {}: {}", f, e.getMessage());
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", conversationsDir, e.getMessage());
        }
        out.sort(Comparator.comparingLong(SavedConversation::updatedAt).reversed());
        return out;
    }

    public synchronized Optional<SavedConversation> load(String id) {
        Path f = fileOf(id);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JSON.readValue(f.toFile(), SavedConversation.class));
        } catch (IOException e) {
            LOG.warn("unreadable conversation {}: {}", f, e.getMessage());
            return Optional.empty();
        }
    }

    public synchronized void delete(SavedConversation c) throws IOException {
        Files.deleteIfExists(fileOf(c.id()));
        for (Path f : heatmaps.filesOf(c.id())) {
            Files.deleteIfExists(f);
        }
        if (c.imageCopy() != null && !usedByAnother(c, imagesDir.resolve(c.imageCopy()))) {
            Files.deleteIfExists(imagesDir.resolve(c.imageCopy()));
        }
    }

    /**
     * Whether another saved conversation refers to {@code image} (as its copy or as its file): a conversation
     * started on an opened conversation's copy records that file as its image, and must not lose it to the trash.
     */
    private boolean usedByAnother(SavedConversation c, Path image) {
        Path target = image.toAbsolutePath().normalize();
        for (SavedConversation o : list()) {
            if (o.id().equals(c.id())) {
                continue;
            }
            String copy = copyName(o);
            if (copy != null && imagesDir.resolve(copy).toAbsolutePath().normalize().equals(target)) {
                return true;
            }
            try {
                if (o.imagePath() != null && Path.of(o.imagePath()).toAbsolutePath().normalize().equals(target)) {
                    return true;
                }
            } catch (InvalidPathException e) {
                // a hand-edited path that is no path refers to nothing
            }
        }
        return false;
    }

    /** {@link #restore} found nothing to bring back (the trash was emptied); any other failure left the trash as it was. */
    public static final class GoneFromTrash extends IOException {
        GoneFromTrash(String message) {
            super(message);
        }
    }

    /** Moves one file; a seam so tests can make a move fail. */
    @FunctionalInterface
    interface Mover {
        void move(Path from, Path to) throws IOException;
    }

    private Mover mover = (from, to) -> Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);

    /** Tests only: the moves {@link #trash} and {@link #restore} make go through this. */
    void setMover(Mover mover) {
        this.mover = mover;
    }

    /**
     * Moves a conversation's heatmaps and image copy, then its file, to the trash, where {@link #restore} finds
     * it. All or nothing: when a move fails, what was moved goes back, so the conversation stays whole and listed
     * (its file last, so a failure never leaves it in the trash that the next start empties).
     */
    public synchronized void trash(SavedConversation c) throws IOException {
        Files.createDirectories(trashDir());
        List<Path[]> plan = new ArrayList<>();
        for (Path f : heatmaps.filesOf(c.id())) {
            plan.add(new Path[] {f, trashDir().resolve(f.getFileName())});
        }
        String copy = copyName(c);
        if (copy != null && !usedByAnother(c, imagesDir.resolve(copy))) {
            plan.add(new Path[] {imagesDir.resolve(copy), trashDir().resolve(copy)});
        }
        plan.add(new Path[] {fileOf(c.id()), trashDir().resolve(c.id() + ".json")});
        moveAll(plan);
    }

    /**
     * Brings a trashed conversation (and its image copy and heatmaps) back, its file last; a file already back is
     * left as it is. All or nothing: when a move fails, what was moved goes back to the trash, so an undo can be tried again.
     */
    public synchronized void restore(SavedConversation c) throws IOException {
        Path file = trashDir().resolve(c.id() + ".json");
        if (!Files.isRegularFile(file) && !Files.isRegularFile(fileOf(c.id()))) {
            throw new GoneFromTrash("the deleted conversation is no longer in " + trashDir());
        }
        List<Path[]> plan = new ArrayList<>();
        for (Path f : new HeatmapFiles(trashDir()).filesOf(c.id())) {
            Files.createDirectories(heatmaps.dir());
            plan.add(new Path[] {f, heatmaps.dir().resolve(f.getFileName())});
        }
        String copy = copyName(c);
        if (copy != null) {
            Files.createDirectories(imagesDir);
            plan.add(new Path[] {trashDir().resolve(copy), imagesDir.resolve(copy)});
        }
        plan.add(new Path[] {file, fileOf(c.id())});
        moveAll(plan);
    }

    /** Makes the moves in order (skipping sources that are not there); on a failure, moves back those made, last first, and rethrows. */
    private void moveAll(List<Path[]> plan) throws IOException {
        List<Path[]> done = new ArrayList<>();
        try {
            for (Path[] m : plan) {
                if (Files.exists(m[0])) {
                    mover.move(m[0], m[1]);
                    done.add(m);
                }
            }
        } catch (IOException | RuntimeException e) {
            for (int i = done.size() - 1; i >= 0; i--) {
                try {
                    mover.move(done.get(i)[1], done.get(i)[0]);
                } catch (IOException | RuntimeException back) {
                    LOG.warn("could not move {} back to {}: {}", done.get(i)[1], done.get(i)[0], back.getMessage());
                    e.addSuppressed(back);
                }
            }
            throw e;
        }
    }

    /** Deletes what is in the trash (at start: an undo only lasts while the app that deleted is open). */
    public synchronized void emptyTrash() throws IOException {
        if (!Files.isDirectory(trashDir())) {
            return;
        }
        try (Stream<Path> files = Files.list(trashDir())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
    }

    private Path trashDir() {
        return conversationsDir.resolve("trash");
    }

    /** The image copy's file name only (a hand-edited name never reaches outside the images folder). */
    private static String copyName(SavedConversation c) {
        if (c.imageCopy() == null) {
            return null;
        }
        Path name = Path.of(c.imageCopy()).getFileName();
        return name == null ? null : name.toString();
    }

    /** Saves a copy of a pasted image as {@code images/<id>.png}; returns the file name. */
    public String saveImageCopy(String id, RgbImage image) throws IOException {
        String name = id + ".png";
        AtomicFiles.write(imagesDir.resolve(name), png(image));
        return name;
    }

    /** The image a conversation refers to: its copy, else its original path; empty when neither exists any more. */
    public Optional<Path> imageOf(SavedConversation c) {
        if (c.imageCopy() != null) {
            Path p = imagesDir.resolve(c.imageCopy());
            if (Files.isRegularFile(p)) {
                return Optional.of(p);
            }
        }
        if (c.imagePath() != null) {
            Path p = Path.of(c.imagePath());
            if (Files.isRegularFile(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Markdown with the image copied beside it ({@code <name>.<ext>}, linked relatively). */
    public void exportMarkdown(SavedConversation c, Path target) throws IOException {
        Optional<String> imageName = copyImageBeside(c, target);
        StringBuilder md = new StringBuilder();
        md.append("# ").append(c.title()).append("\n\n");
        imageName.ifPresent(n -> md.append("![image](").append(n).append(")\n\n"));
        if (c.settings() != null) {
            SavedConversation.Generation g = c.settings();
            md.append("_").append(c.canvasMode()).append(" canvas; temperature ").append(g.temperature()).append(", top-p ")
                    .append(g.topP()).append(", top-k ").append(g.topK()).append(", max new tokens ").append(g.maxNewTokens())
                    .append("_\n\n");
        }
        for (SavedConversation.Message m : c.messages()) {
            md.append("user".equals(m.role()) ? "**You:** " : "**ConvLLaVA:** ").append(m.text()).append("\n\n");
            if (m.stats() != null) {
                md.append("> ").append(StatsText.of(m.stats(), m.finish())).append("\n\n");
            }
        }
        AtomicFiles.write(target, md.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** The conversation's JSON, with the image copied beside it and referenced by its new name. */
    public void exportJson(SavedConversation c, Path target) throws IOException {
        Optional<String> imageName = copyImageBeside(c, target);
        SavedConversation out = new SavedConversation(c.id(), c.title(), c.createdAt(), c.updatedAt(), imageName.orElse(null), null,
                c.canvasMode(), c.settings(), c.messages());
        AtomicFiles.write(target, JSON.writeValueAsBytes(out));
    }

    private Optional<String> copyImageBeside(SavedConversation c, Path target) throws IOException {
        Optional<Path> image = imageOf(c);
        if (image.isEmpty()) {
            return Optional.empty();
        }
        String base = target.getFileName().toString().replaceFirst("\\.[^.]+$", "");
        String src = image.get().getFileName().toString();
        int dot = src.lastIndexOf('.');
        String name = base + (dot >= 0 ? src.substring(dot) : ".img");
        Path dest = target.toAbsolutePath().resolveSibling(name);
        if (!dest.equals(image.get().toAbsolutePath())) {
            AtomicFiles.write(dest, Files.readAllBytes(image.get()));
        }
        return Optional.of(name);
    }

    static byte[] png(RgbImage image) throws IOException {
        BufferedImage bi = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_INT_RGB);
        int[] row = new int[image.width()];
        for (int y = 0; y < image.height(); y++) {
            for (int x = 0; x < image.width(); x++) {
                row[x] = image.rgbAt(x, y);
            }
            bi.setRGB(0, y, image.width(), 1, row, 0, image.width());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(bi, "png", out);
        return out.toByteArray();
    }

    private Path fileOf(String id) {
        if (!id.matches("[A-Za-z0-9-]+")) {
            throw new IllegalArgumentException("bad conversation id " + id);
        }
        return conversationsDir.resolve(id + ".json");
    }
}
