package ai.convllava.app.cli;

import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.DecodedImage;
import ai.convllava.model.api.image.ImageFiles;

import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@code ask} over many images and questions: every image (or PDF page) with every question, one record
 * each. An image is encoded once for all its questions (each asked in a fresh conversation, so that the
 * answers do not depend on the order of the questions); the next input is read and rendered on another
 * thread while the current one is answered; progress goes to stderr; {@code --resume} skips the records
 * already answered in the output file.
 */
final class BatchAsk {
    /**
     * What to run.
     *
     * @param output the file, or null for stdout
     */
    record Job(List<BatchInputs.Input> inputs, List<String> questions, LoadOptions load, CanvasMode mode, GenerationConfig generation,
               String system, Path output, BatchOutput.Format format, boolean resume) {
    }

    private BatchAsk() {
    }

    /** Runs the job: 0 when every record has an answer, 1 when some failed (they are in the output with their error). */
    static int run(Job job, PrintWriter stdout, PrintWriter err) {
        if (job.output() != null && Files.exists(job.output()) && !job.resume()) {
            throw new ConvLlavaException("--output " + job.output() + " already exists: add --resume to carry on with it, or choose another file");
        }
        Set<String> done = job.resume() && job.output() != null ? BatchOutput.done(job.output(), job.format()) : Set.of();
        // each input's questions not answered yet, decided once
        List<List<String>> pending = new ArrayList<>();
        int todo = 0;
        for (BatchInputs.Input in : job.inputs()) {
            List<String> qs = job.questions().stream().filter(q -> !done.contains(BatchOutput.key(in.file().toString(), in.page(), q))).toList();
            pending.add(qs);
            todo += qs.size();
        }
        int total = job.inputs().size() * job.questions().size();
        err.printf("%d images or pages x %d questions = %d answers%s%n", job.inputs().size(), job.questions().size(), total,
                total == todo ? "" : ", " + (total - todo) + " already in " + job.output() + ", " + todo + " to go");
        err.flush();
        if (todo == 0) {
            return 0;
        }
        PrintWriter out = stdout;
        boolean newFile = true;
        if (job.output() != null) {
            try {
                newFile = !Files.exists(job.output()) || Files.size(job.output()) == 0;
                boolean cutOff = !newFile && lastByte(job.output()) != '\n';
                out = new PrintWriter(new OutputStreamWriter(Files.newOutputStream(job.output(), StandardOpenOption.CREATE, StandardOpenOption.APPEND),
                        StandardCharsets.UTF_8));
                if (cutOff) {
                    out.println(); // the interrupted run's last record was cut off: the next one starts on a line of its own
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + job.output() + ": " + e.getMessage(), e);
            }
        }
        BatchOutput records = new BatchOutput(job.format(), out, newFile);
        ExecutorService reader = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "convllava-batch-reader");
            t.setDaemon(true);
            return t;
        });
        int failed = 0;
        int written = 0;
        long t0 = System.nanoTime();
        try (VisionChatSession session = VisionChatSession.local()) {
            session.loadModel(job.load(), ProgressListener.NONE).join();
            List<BatchInputs.Input> inputs = job.inputs();
            CompletableFuture<DecodedImage> next = read(reader, inputs, 0, pending);
            for (int i = 0; i < inputs.size(); i++) {
                BatchInputs.Input in = inputs.get(i);
                CompletableFuture<DecodedImage> current = next;
                next = read(reader, inputs, i + 1, pending); // rendered while this one is answered
                List<String> questions = pending.get(i);
                if (questions.isEmpty()) {
                    continue;
                }
                DecodedImage image;
                try {
                    image = current.join();
                } catch (RuntimeException e) {
                    String why = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
                    for (String q : questions) {
                        records.write(record(in, q, null, why));
                        failed++;
                        written++;
                    }
                    progress(err, written, todo, t0, in, "not read: " + why);
                    continue;
                }
                session.setImage(image.image(), job.mode(), true).join(); // encoded once, for all its questions
                for (String q : questions) {
                    session.newConversation();
                    GenerationResult r = session.ask(new ChatRequest(List.of(Turn.pending(q)), job.system(), job.generation()), AnswerListener.NONE).join();
                    records.write(record(in, q, r, r.error()));
                    written++;
                    if (r.error() != null) {
                        failed++;
                    }
                    progress(err, written, todo, t0, in, r.error() != null ? "error: " + r.error()
                            : r.generatedIds().length + " tokens, " + String.format(Locale.ROOT, "%.1f", r.timings().decodeTokensPerSecond()) + " tokens/s");
                }
            }
        } finally {
            reader.shutdownNow();
            if (out != stdout) {
                out.close();
            }
        }
        if (failed > 0) {
            err.printf("%d of %d answers failed; their records hold the error (--resume asks them again)%n", failed, written);
        }
        err.flush();
        return failed == 0 ? 0 : 1;
    }

    private static int lastByte(Path file) throws IOException {
        try (var ch = Files.newByteChannel(file)) {
            ch.position(ch.size() - 1);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b);
            return b.get(0);
        }
    }

    /** Reads input {@code i} on the reader thread, or nothing when it is past the end or fully answered already. */
    private static CompletableFuture<DecodedImage> read(ExecutorService reader, List<BatchInputs.Input> inputs, int i, List<List<String>> pending) {
        if (i >= inputs.size() || pending.get(i).isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        BatchInputs.Input in = inputs.get(i);
        return CompletableFuture.supplyAsync(() -> ImageFiles.read(in.file(), Math.max(1, in.page())), reader);
    }

    private static Map<String, Object> record(BatchInputs.Input in, String question, GenerationResult r, String error) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("file", in.file().toString());
        m.put("page", in.page() > 0 ? in.page() : null);
        m.put("question", question);
        if (r != null) {
            m.put("answer", r.text());
            m.put("finish_reason", r.finishReason().name());
            m.put("prompt_tokens", r.promptTokens());
            m.put("generated_tokens", r.generatedIds().length);
            Timings t = r.timings();
            m.put("preprocess_ms", round(t.preprocessMs()));
            m.put("vision_encode_ms", round(t.visionEncodeMs()));
            m.put("prefill_ms", round(t.prefillMs()));
            m.put("ttft_ms", round(t.timeToFirstTokenFromImageMs()));
            m.put("decode_tokens_per_s", Math.round(t.decodeTokensPerSecond() * 100) / 100.0);
        }
        m.put("error", error);
        return m;
    }

    private static double round(double ms) {
        return Math.round(ms * 10) / 10.0;
    }

    /** One line per record: where it is, what this one did, and the time left at the pace so far. */
    private static void progress(PrintWriter err, int written, int todo, long t0, BatchInputs.Input in, String what) {
        double elapsed = (System.nanoTime() - t0) / 1e9;
        double left = elapsed / written * (todo - written);
        err.printf(Locale.ROOT, "[%d/%d] %s: %s; %s%n", written, todo, in.label(), what,
                written == todo ? "done in " + duration(elapsed) : "about " + duration(left) + " left");
        err.flush();
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s < 90 ? s + " s" : s < 5400 ? Math.round(s / 60.0) + " min" : String.format(Locale.ROOT, "%.1f h", s / 3600.0);
    }
}
