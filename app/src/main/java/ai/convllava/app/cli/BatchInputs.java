package ai.convllava.app.cli;

import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.image.ImageFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * What a batch {@code ask} goes through: each {@code --image} is a file, a PDF (its pages, or those
 * {@code --pages} names) or a folder (its images and PDFs, by name, not its subfolders); and the questions,
 * from {@code --question} or a {@code --questions} file.
 */
final class BatchInputs {
    /**
     * One image to ask about.
     *
     * @param page the PDF page (1-based), or 0 for an image file
     */
    record Input(Path file, int page) {
        String label() {
            return file.getFileName() + (page > 0 ? " p" + page : "");
        }
    }

    private BatchInputs() {
    }

    /** The inputs, in the order given (a folder's files sorted by name); PDFs are opened to count their pages. */
    static List<Input> expand(List<Path> given, String pagesSpec) {
        List<Input> out = new ArrayList<>();
        for (Path g : given) {
            if (Files.isDirectory(g)) {
                List<Path> files;
                try (Stream<Path> s = Files.list(g)) {
                    files = s.filter(Files::isRegularFile).filter(ImageFiles::hasReadableName).sorted().toList();
                } catch (IOException e) {
                    throw new ConvLlavaException("cannot list the folder " + g + ": " + e.getMessage(), e);
                }
                if (files.isEmpty()) {
                    throw new ConvLlavaException("the folder " + g + " has no " + ImageFiles.SUPPORTED + " files (by name: "
                            + String.join(", ", ImageFiles.EXTENSIONS) + ")");
                }
                for (Path f : files) {
                    add(out, f, pagesSpec);
                }
            } else if (Files.isRegularFile(g)) {
                add(out, g, pagesSpec);
            } else {
                throw new ConvLlavaException("--image " + g + " was not found");
            }
        }
        return out;
    }

    private static void add(List<Input> out, Path file, String pagesSpec) {
        if (!ImageFiles.isPdf(file)) {
            out.add(new Input(file, 0)); // an unreadable image is reported in its records, not here
            return;
        }
        int count = ImageFiles.pageCount(file);
        for (int p : pages(pagesSpec, count, file.getFileName().toString())) {
            out.add(new Input(file, p));
        }
    }

    /**
     * The pages {@code spec} names ({@code 1-5,8}; null for all), those beyond the document left out; a
     * document with none of them is an error.
     */
    static List<Integer> pages(String spec, int pageCount, String name) {
        if (spec == null || spec.isBlank()) {
            List<Integer> all = new ArrayList<>();
            for (int p = 1; p <= pageCount; p++) {
                all.add(p);
            }
            return all;
        }
        TreeSet<Integer> chosen = new TreeSet<>();
        for (String part : spec.split(",")) {
            String t = part.strip();
            try {
                int dash = t.indexOf('-');
                int from = Integer.parseInt((dash < 0 ? t : t.substring(0, dash)).strip());
                int to = dash < 0 ? from : Integer.parseInt(t.substring(dash + 1).strip());
                if (from < 1 || to < from) {
                    throw new IllegalArgumentException("--pages " + spec + ": \"" + t + "\" is not a page or a range of pages counted from 1");
                }
                for (int p = from; p <= Math.min(to, pageCount); p++) {
                    chosen.add(p);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--pages " + spec + ": \"" + t + "\" is not a page number or a range such as 1-5");
            }
        }
        if (chosen.isEmpty()) {
            throw new ConvLlavaException("--pages " + spec + " names no page of " + name + ", which has " + pageCount);
        }
        return List.copyOf(chosen);
    }

    /** The questions in a file: one per line; blank lines and lines starting with # are skipped. */
    static List<String> questions(Path file) {
        List<String> qs;
        try {
            qs = Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        } catch (IOException e) {
            throw new ConvLlavaException("--questions " + file + " cannot be read: " + e.getMessage(), e);
        }
        if (qs.isEmpty()) {
            throw new ConvLlavaException("--questions " + file + " holds no question (one per line; # starts a comment)");
        }
        return qs;
    }
}
