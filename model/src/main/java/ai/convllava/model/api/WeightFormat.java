package ai.convllava.model.api;

/**
 * How the language model's linear weights are held in memory. Norms and biases stay float32; F16
 * halves the memory and the bytes each generated token reads. {@code nn.Linears} picks the
 * implementation of each format for the device.
 */
public enum WeightFormat {
    F32, F16;

    /** f32 or f16 in any case, or null for {@code auto} (the engine picks by model size); anything else is an error that lists them. */
    public static WeightFormat parse(String s) {
        return s != null && s.equalsIgnoreCase("auto") ? null : Options.parse(WeightFormat.class, s, "--weights");
    }

    /** F16 for models whose float32 LLM would not leave room (more than 2 GB of weights), else F32. */
    public static WeightFormat auto(long llmParameters) {
        return llmParameters * 4 > (2L << 30) ? F16 : F32;
    }
}
