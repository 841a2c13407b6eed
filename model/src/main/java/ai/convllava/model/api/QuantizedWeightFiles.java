package ai.convllava.model.api;

import ai.convllava.model.checkpoint.ShardedCheckpoint;
import ai.convllava.model.config.ModelFolder;
import ai.convllava.model.engine.ModelQuantizer;
import ai.convllava.model.quant.GgufFile;
import ai.convllava.model.quant.QuantFormat;
import ai.convllava.model.quant.QuantizedFiles;
import ai.convllava.model.session.BackgroundTask;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model's quantized weights on disk (Q8_0, Q4_K): made once by {@link #quantize} into a GGUF file
 * beside the checkpoint ({@code convllava-q4_k.gguf}), then read by every load with that
 * {@link WeightFormat} in seconds. Without the file such a load quantizes while loading, which takes
 * minutes for a 7B model. The file records the shards it was made from; a changed checkpoint makes it
 * {@link Availability#UNUSABLE} (and a load refuses it, saying to quantize again).
 */
public final class QuantizedWeightFiles {
    private QuantizedWeightFiles() {
    }

    /** Whether a model has usable quantized weights of a format. */
    public enum Availability {
        /** No file: a load quantizes while loading. */
        NONE,
        /** The file is complete and made from this checkpoint. */
        READY,
        /** The file is broken or made from other shards: quantize again. */
        UNUSABLE
    }

    /** A model's quantized weights of one format: where, whether usable (and if not, why), and their size on disk. */
    public record Status(WeightFormat format, Path file, Availability availability, long bytes, String problem) {
    }

    /** Where {@link #quantize} puts the model's weights of {@code format}. */
    public static Path file(Path modelDir, WeightFormat format) {
        requireQuantized(format);
        return QuantizedFiles.path(modelDir, format);
    }

    /** Whether the model in {@code modelDir} has usable {@code format} weights: quick (the file's header, the shards' sizes and blob names; a shard with a new time is hashed by the load, not here). */
    public static Status status(Path modelDir, WeightFormat format) {
        Path file = file(modelDir, format);
        if (!Files.isRegularFile(file)) {
            return new Status(format, file, Availability.NONE, 0, null);
        }
        try (ShardedCheckpoint ckpt = ShardedCheckpoint.open(ModelFolder.open(modelDir).dir());
             GgufFile g = QuantizedFiles.open(modelDir, format, ckpt.files(), false, () -> false)) {
            return new Status(format, file, Availability.READY, g.size(), null);
        } catch (ConvLlavaException e) {
            return new Status(format, file, Availability.UNUSABLE, sizeOf(file), e.getMessage());
        }
    }

    /** Bytes the {@code format} file of the model in {@code modelDir} will take. */
    public static long estimatedBytes(Path modelDir, WeightFormat format) {
        QuantFormat f = QuantFormat.valueOf(requireQuantized(format).name());
        return ModelQuantizer.bytes(ModelQuantizer.plan(modelDir, f), f);
    }

    /**
     * Quantizes the LLM's linear layers and lm_head of the model in {@code modelDir} into
     * {@link #file}, on a thread of its own and on all cores: refused before it starts when the disk has
     * too little room; written atomically (a cancelled or killed run leaves no file that a load would
     * read); {@code progress} hears the tensor and the fraction of all weights done.
     */
    public static TaskHandle<QuantizeReport> quantize(Path modelDir, WeightFormat format, ProgressListener progress) {
        requireQuantized(format);
        return BackgroundTask.start("convllava-quantize", cancelled -> {
            try {
                return ModelQuantizer.quantize(modelDir, format, progress, cancelled);
            } catch (IOException e) {
                throw new UncheckedIOException("quantizing " + modelDir + " to " + format.optionName() + ": " + e.getMessage(), e);
            }
        });
    }

    private static WeightFormat requireQuantized(WeightFormat format) {
        if (!format.quantized()) {
            throw new IllegalArgumentException(format.optionName() + " is not a quantized format (q8_0, q4_k)");
        }
        return format;
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }
}
