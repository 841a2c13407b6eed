package ai.convllava.model.quant;

/** Linear weights already quantized (a file {@code models quantize} wrote), looked up by checkpoint key. */
public interface QuantizedWeights extends AutoCloseable {
    /**
     * The matrix stored under {@code key}, or null when the file does not hold it (the loader then
     * quantizes it from the checkpoint).
     *
     * @throws IllegalArgumentException when the file holds it in another format or shape (naming the key and both)
     */
    QuantizedMatrix matrix(String key, QuantFormat format, long rows, long cols);

    /** Where the weights come from, for logs. */
    String describe();

    @Override
    void close();
}
