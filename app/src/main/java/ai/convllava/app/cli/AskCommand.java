package ai.convllava.app.cli;

import ai.convllava.model.api.AnswerListener;
import ai.convllava.model.api.ChatRequest;
import ai.convllava.model.api.ConvLlavaException;
import ai.convllava.model.api.Device;
import ai.convllava.model.api.GenerationConfig;
import ai.convllava.model.api.GenerationResult;
import ai.convllava.model.api.LoadOptions;
import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.Stage;
import ai.convllava.model.api.Timings;
import ai.convllava.model.api.Turn;
import ai.convllava.model.api.VisionChatSession;
import ai.convllava.model.api.image.CanvasMode;
import ai.convllava.model.api.image.DecodedImage;
import ai.convllava.model.api.image.ImageFiles;
import ai.convllava.model.api.image.PreprocessedImage;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code convllava ask}: one question about one image, the answer streamed to stdout; or, with several
 * images, a folder, a PDF's pages or a file of questions, one record per image and question
 * ({@link BatchAsk}).
 */
@Command(name = "ask", description = {"Answer one question about one image; the answer streams to stdout, timings go to stderr.",
        "With several --image, a folder, a PDF's --pages or --questions FILE: one record per image (or page) and question,"
                + " as JSON Lines (default) or CSV, to stdout or --output, with progress on stderr."})
public final class AskCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "ConvLLaVA-sft-768/1024/1536 folder")
    Path model;

    @Option(names = "--vision-tower", paramLabel = "DIR", description = "ConvLLaVA-ConvNeXt folder (default: found from mm_vision_tower)")
    Path visionTower;

    @Option(names = "--image", required = true, paramLabel = "FILE|DIR",
            description = "PNG, JPEG, GIF, BMP, WebP, or a PDF (see --page, --pages); repeat it, or give a folder (its images and PDFs), for a batch")
    List<Path> images;

    @Option(names = "--page", defaultValue = "1", paramLabel = "N", description = "the page of a PDF to ask about (default 1)")
    int page;

    @Option(names = "--pages", paramLabel = "SPEC", description = "batch: the pages of each PDF to ask about, e.g. 1-5,8 (default: all)")
    String pages;

    @Option(names = "--question", paramLabel = "TEXT")
    String question;

    @Option(names = "--questions", paramLabel = "FILE", description = "batch: questions, one per line (# starts a comment)")
    Path questionsFile;

    @Option(names = "--output", paramLabel = "FILE", description = "batch: write the records to FILE instead of stdout")
    Path output;

    @Option(names = "--format", paramLabel = "jsonl|csv", description = "batch: JSON Lines (default) or CSV with a header")
    String format;

    @Option(names = "--resume", description = "batch: append to --output, skipping the records it already has an answer for")
    boolean resume;

    @Option(names = "--mode", defaultValue = "pad", paramLabel = "pad|native",
            description = "pad: square canvas as ConvLLaVA was trained (default); native: keep the aspect ratio (documents):"
                    + " the short side goes to the canvas side, sides rounded to multiples of 64, but the long side is capped at 4x the"
                    + " canvas side so the visual tokens stay within the context (a 1200x90 panorama at 1536: 6144x448, 96x7 tokens)")
    String mode;

    @Option(names = "--max-new-tokens", defaultValue = "512", paramLabel = "N")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", paramLabel = "T", description = "0 = greedy (default)")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1.0", paramLabel = "P")
    double topP;

    @Option(names = "--top-k", defaultValue = "0", paramLabel = "K", description = "0 = off")
    int topK;

    @Option(names = "--repetition-penalty", defaultValue = "1.0", paramLabel = "R")
    double repetitionPenalty;

    @Option(names = "--seed", paramLabel = "S")
    Long seed;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|gpu")
    String device;

    @Mixin
    WeightOptions memory;

    @Option(names = "--canvas", paramLabel = "SIDE", defaultValue = "0",
            description = "canvas side for a model whose encoder sits inside its shards and whose size the names do not tell")
    int canvas;

    @Option(names = "--system", paramLabel = "TEXT", description = "system prompt (default: ConvLLaVA's)")
    String system;

    @Option(names = "--json", description = "print one JSON record at the end instead of streaming")
    boolean json;

    @Option(names = "--attention", description = "with --json: include image_attention (layers x image tokens, last prompt position)")
    boolean attention;

    @Option(names = "--verbose", description = "stack traces on errors")
    boolean verbose;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            CanvasMode canvasMode = parseMode(mode);
            if ((question == null) == (questionsFile == null)) {
                throw new IllegalArgumentException("give the question with --question TEXT, or a file of questions with --questions FILE (one of them)");
            }
            boolean batch = images.size() > 1 || Files.isDirectory(images.get(0)) || questionsFile != null || pages != null || output != null
                    || format != null || resume;
            if (batch && json) {
                throw new IllegalArgumentException("--json is for one answer; a batch writes one JSON record per answer already (--format jsonl)");
            }
            if (batch && page != 1) {
                throw new IllegalArgumentException("--page is for one answer; a batch takes --pages (e.g. 1-5,8)");
            }
            if (resume && output == null) {
                throw new IllegalArgumentException("--resume needs --output FILE, the file to carry on with");
            }
            GenerationConfig gen = new GenerationConfig(maxNewTokens, temperature, topP, topK, repetitionPenalty, seed, json && attention);
            LoadOptions options = LoadOptions.of(model).withVisionTower(visionTower).withDevice(Device.parse(device))
                    .withWeightFormat(memory.weightFormat()).withCanvasOverride(canvas).withTowerMemory(memory.towerMemory());
            if (batch) {
                BatchOutput.Format f = format == null ? BatchOutput.Format.JSONL : BatchOutput.Format.parse(format);
                List<String> qs = questionsFile != null ? BatchInputs.questions(questionsFile) : List.of(question);
                return BatchAsk.run(new BatchAsk.Job(BatchInputs.expand(images, pages), qs, options, canvasMode, gen, system, output, f, resume), out, err);
            }
            Path image = images.get(0);
            DecodedImage decoded = ImageFiles.read(image, page); // a bad image or page fails before the (slow) model load
            if (decoded.pageCount() == 0 && page != 1) {
                throw new ConvLlavaException("--page " + page + " is for PDF documents; " + image.getFileName() + " is an image");
            }
            try (VisionChatSession session = VisionChatSession.local()) {
                session.loadModel(options, ProgressListener.NONE).join();
                // not pre-encoded: the image is encoded with the question, in one go
                PreprocessedImage pre = session.setImage(decoded.image(), canvasMode, false).join();
                ChatRequest request = new ChatRequest(List.of(Turn.pending(question)), system, gen);
                GenerationResult r = session.ask(request, json ? AnswerListener.NONE : printing(out)).join();
                if (json) {
                    out.println(toJson(r, pre));
                } else {
                    out.println();
                    printTimings(err, r, pre);
                }
                if (r.error() != null) {
                    err.println("error: " + r.error());
                    return 1;
                }
            }
            return 0;
        } catch (ConvLlavaException | IllegalArgumentException | UncheckedIOException e) {
            err.println("error: " + e.getMessage());
            if (verbose) {
                e.printStackTrace(err);
            }
            return 1;
        } catch (RuntimeException e) {
            err.println("error: " + e);
            if (verbose) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** Prints the answer as it streams. */
    private static AnswerListener printing(PrintWriter out) {
        return new AnswerListener() {
            @Override
            public void onStage(Stage stage, double fraction) {
            }

            @Override
            public void onText(String delta) {
                out.print(delta);
                out.flush();
            }
        };
    }

    static CanvasMode parseMode(String s) {
        switch (s.toLowerCase()) {
            case "pad":
                return CanvasMode.PAD;
            case "native":
                return CanvasMode.NATIVE;
            default:
                throw new IllegalArgumentException("--mode must be pad or native (got " + s + ")");
        }
    }

    private static void printTimings(PrintWriter err, GenerationResult r, PreprocessedImage pre) {
        Timings t = r.timings();
        err.printf("[%s] %d prompt tokens (%d visual, grid %d x %d), %d generated; preprocess %.0f ms, vision %.0f ms, prefill %.0f ms,"
                        + " first token %.0f ms, %.2f tokens/s%n",
                r.finishReason(), r.promptTokens(), r.imageTokens(), pre.geometry().gridRows(), pre.geometry().gridCols(),
                r.generatedIds().length, t.preprocessMs(), t.visionEncodeMs(), t.prefillMs(), t.timeToFirstTokenFromImageMs(), t.decodeTokensPerSecond());
    }

    static String toJson(GenerationResult r, PreprocessedImage pre) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode o = mapper.createObjectNode();
        o.put("text", r.text());
        ArrayNode ids = o.putArray("generated_ids");
        for (int id : r.generatedIds()) {
            ids.add(id);
        }
        o.put("finish_reason", r.finishReason().name());
        o.put("prompt_tokens", r.promptTokens());
        o.put("image_tokens", r.imageTokens());
        o.putArray("grid").add(pre.geometry().gridRows()).add(pre.geometry().gridCols());
        o.putArray("canvas").add(pre.geometry().canvasWidth()).add(pre.geometry().canvasHeight());
        o.put("seed", r.seed());
        Timings t = r.timings();
        ObjectNode tn = o.putObject("timings");
        tn.put("preprocess_ms", t.preprocessMs());
        tn.put("vision_encode_ms", t.visionEncodeMs());
        tn.put("prefill_ms", t.prefillMs());
        tn.put("ttft_ms", t.timeToFirstTokenFromImageMs());
        tn.put("decode_ms", t.decodeMs());
        tn.put("decode_tokens_per_s", t.decodeTokensPerSecond());
        if (!r.imageAttention().isEmpty()) {
            ArrayNode layers = o.putArray("image_attention");
            for (float[] layer : r.imageAttention().get(0)) {
                ArrayNode row = layers.addArray();
                for (float v : layer) {
                    row.add(v);
                }
            }
        }
        if (r.error() != null) {
            o.put("error", r.error());
        }
        return o.toString();
    }
}
