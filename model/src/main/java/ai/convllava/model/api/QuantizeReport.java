package ai.convllava.model.api;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link QuantizedWeightFiles#quantize} wrote: the file, its size and the checkpoint's, how long it
 * took, and each tensor's round-trip error.
 */
public record QuantizeReport(WeightFormat format, Path file, long bytes, long sourceBytes, double seconds, List<TensorError> tensors) {
    public QuantizeReport {
        tensors = List.copyOf(tensors);
    }

    /**
     * One quantized tensor: its shape and its relative RMS error, sqrt(sum (w' - w)^2 / sum w^2), where w'
     * is the weight dequantized back from its blocks.
     */
    public record TensorError(String name, long rows, long cols, double relativeRmsError) {
    }

    /** The largest relative RMS error of any tensor. */
    public double worstError() {
        return tensors.stream().mapToDouble(TensorError::relativeRmsError).max().orElse(0);
    }

    /** The error over all weights: each tensor's error weighted by its size. */
    public double meanError() {
        double sum = 0;
        double n = 0;
        for (TensorError t : tensors) {
            double w = (double) t.rows() * t.cols();
            sum += t.relativeRmsError() * t.relativeRmsError() * w;
            n += w;
        }
        return n > 0 ? Math.sqrt(sum / n) : 0;
    }
}
