package ai.convllava.model.engine;

import ai.convllava.model.api.ProgressListener;
import ai.convllava.model.api.QuantizeReport;
import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.config.LlamaConfig;
import ai.convllava.model.config.ModelFolder;
import ai.convllava.model.nn.LlamaModel;
import ai.convllava.model.quant.GgufException;
import ai.convllava.model.quant.GgufFile;
import ai.convllava.model.quant.GgufWriter;
import ai.convllava.model.quant.QuantFormat;
import ai.convllava.model.quant.QuantizedFiles;
import ai.convllava.model.quant.QuantizedMatrix;
import ai.convllava.model.quant.Quantizer;

import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

/**
 * Writes a model's quantized weights once ({@link QuantizedFiles#path}): every linear layer of the
 * LLM (q/k/v/o, gate/up/down) and lm_head whose rows are whole blocks, read from the checkpoint a few
 * rows at a time, quantized on all cores and streamed into a GGUF file (atomically: a killed run leaves
 * no file). The token embeddings, norms, projector and vision tower stay in the checkpoint. Records the
 * source shards' names, sizes and SHA-256, and measures each tensor's round-trip error.
 */
public final class ModelQuantizer {
    private static final Pattern LINEAR = Pattern.compile("model\\.layers\\.\\d+\\.(self_attn\\.[qkvo]_proj|mlp\\.(gate|up|down)_proj)\\.weight");
    private static final int BLOCK_FLOATS = 4 << 20;

    private ModelQuantizer() {
    }

    /**
     * The linear layers that would be quantized, with their shapes ([rows, cols]).
     *
     * @throws GgufException when no layer's rows are whole blocks of the format
     */
    public static Map<String, long[]> plan(Path modelDir, QuantFormat f) {
        ModelFolder folder = ModelFolder.open(modelDir);
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(folder.dir())) {
            Map<String, long[]> plan = plan(folder.config().llm(), ckpt, f);
            if (plan.isEmpty()) {
                throw nothingToQuantize(folder, f);
            }
            return plan;
        }
    }

    private static Map<String, long[]> plan(LlamaConfig c, ShardedCheckpoint ckpt, QuantFormat f) {
        Map<String, long[]> keys = new LinkedHashMap<>();
        for (String k : LlamaModel.keys(c, 0)) {
            if (LINEAR.matcher(k).matches()) {
                keys.put(k, ckpt.info(k).shape());
            }
        }
        String head = c.tieWordEmbeddings() && !ckpt.contains("lm_head.weight") ? LlamaModel.PREFIX + "embed_tokens.weight" : "lm_head.weight";
        keys.put(head, ckpt.info(head).shape());
        keys.values().removeIf(s -> s.length != 2 || s[1] % f.blockSize != 0); // rows that are not whole blocks stay float16
        return keys;
    }

    private static GgufException nothingToQuantize(ModelFolder folder, QuantFormat f) {
        LlamaConfig c = folder.config().llm();
        return new GgufException(folder.dir() + ": no linear layer has rows of whole " + f + " blocks of " + f.blockSize + " weights (hidden_size "
                + c.hiddenSize() + ", intermediate_size " + c.intermediateSize() + "): nothing to quantize"
                + (f == QuantFormat.Q4_K && c.hiddenSize() % 32 == 0 ? "; q8_0's blocks of 32 fit" : ""));
    }

    /** Bytes the file will take. */
    public static long bytes(Map<String, long[]> plan, QuantFormat f) {
        long total = 0;
        for (long[] s : plan.values()) {
            total += GgufFile.align(s[0] * f.rowBytes(s[1]), GgufFile.DEFAULT_ALIGNMENT);
        }
        return total + (1 << 20);
    }

    /**
     * Writes the model's {@code format} weights; {@code progress} hears the tensor being quantized and the
     * fraction of all weights done.
     *
     * @throws GgufException when the disk has too little room (checked before anything is written) or a tensor holds NaN or Inf
     * @throws java.util.concurrent.CancellationException when {@code cancelled}; no file is left behind
     */
    public static QuantizeReport quantize(Path modelDir, WeightFormat format, ProgressListener progress, BooleanSupplier cancelled) throws IOException {
        long t0 = System.nanoTime();
        QuantFormat f = QuantFormat.valueOf(format.name());
        ModelFolder folder = ModelFolder.open(modelDir);
        Path target = QuantizedFiles.path(folder.dir(), format);
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(folder.dir())) {
            Map<String, long[]> plan = plan(folder.config().llm(), ckpt, f);
            if (plan.isEmpty()) {
                throw nothingToQuantize(folder, f);
            }
            long need = bytes(plan, f);
            long free = Files.getFileStore(folder.dir()).getUsableSpace();
            if (free < need + (64L << 20)) {
                throw new GgufException("quantizing " + folder.dir().getFileName() + " to " + format.optionName() + " needs "
                        + String.format("%.2f", need / 1e9) + " GB of disk space in " + folder.dir() + "; " + String.format("%.2f", free / 1e9)
                        + " GB is free");
            }
            Map<String, Object> meta = new LinkedHashMap<>();
            meta.put("general.architecture", QuantizedFiles.ARCHITECTURE);
            meta.put("general.name", folder.dir().getFileName().toString());
            meta.put(QuantizedFiles.FORMAT_KEY, format.optionName());
            List<String> names = new ArrayList<>();
            long sourceBytes = 0;
            List<Path> shards = ckpt.files();
            for (int i = 0; i < shards.size(); i++) {
                Path s = shards.get(i);
                names.add(s.getFileName().toString());
                meta.put(QuantizedFiles.SOURCE_SIZE_PREFIX + s.getFileName(), Files.size(s));
                progress.progress("checksum of " + s.getFileName(), 0);
                meta.put(QuantizedFiles.SOURCE_MTIME_PREFIX + s.getFileName(), Files.getLastModifiedTime(s).toMillis());
                meta.put(QuantizedFiles.SOURCE_SHA256_PREFIX + s.getFileName(), QuantizedFiles.sha256(s, cancelled));
                sourceBytes += Files.size(s);
            }
            meta.put(QuantizedFiles.SOURCE_FILES_KEY, names);
            List<GgufWriter.Entry> entries = new ArrayList<>();
            long totalWeights = 0;
            for (Map.Entry<String, long[]> e : plan.entrySet()) {
                entries.add(new GgufWriter.Entry(e.getKey(), e.getValue(), f.ggmlType));
                totalWeights += e.getValue()[0] * e.getValue()[1];
            }
            List<QuantizeReport.TensorError> errors = new ArrayList<>();
            long done = 0;
            try (GgufWriter w = new GgufWriter(target, meta, entries)) {
                for (Map.Entry<String, long[]> e : plan.entrySet()) {
                    String key = e.getKey();
                    int rows = Math.toIntExact(e.getValue()[0]);
                    int cols = Math.toIntExact(e.getValue()[1]);
                    int rowBytes = (int) f.rowBytes(cols);
                    byte[] blocks = new byte[Math.toIntExact((long) rows * rowBytes)];
                    int step = Math.max(1, BLOCK_FLOATS / cols);
                    float[] buf = new float[step * cols];
                    float[] back = new float[step * cols];
                    double err = 0;
                    double sig = 0;
                    for (int r = 0; r < rows; r += step) {
                        w.checkCancelled(cancelled);
                        int n = Math.min(step, rows - r);
                        ckpt.readRangeInto(key, (long) r * cols, n * cols, FloatBuffer.wrap(buf, 0, n * cols), rows, cols);
                        try {
                            Quantizer.quantizeRows(f, buf, n, cols, blocks, r * rowBytes);
                        } catch (IllegalArgumentException ex) {
                            throw new GgufException(ckpt.info(key).file().getFileName() + ": tensor '" + key + "' cannot be quantized: "
                                    + ex.getMessage().replaceFirst("^row (\\d+)", "row " + r + " + $1"), ex);
                        }
                        new QuantizedMatrix(f, n, cols, Arrays.copyOfRange(blocks, r * rowBytes, (r + n) * rowBytes))
                                .dequantizeRows(0, n, back, 0);
                        for (int i = 0; i < n * cols; i++) {
                            double d = back[i] - buf[i];
                            err += d * d;
                            sig += (double) buf[i] * buf[i];
                        }
                        done += (long) n * cols;
                        progress.progress(key, (double) done / totalWeights);
                    }
                    w.write(key, blocks);
                    errors.add(new QuantizeReport.TensorError(key, rows, cols, sig > 0 ? Math.sqrt(err / sig) : 0));
                }
                w.finish();
            }
            return new QuantizeReport(format, target, Files.size(target), sourceBytes, (System.nanoTime() - t0) / 1e9, errors);
        }
    }
}
