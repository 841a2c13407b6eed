package ai.convllava.model.api;

import java.util.Locale;

/**
 * How the language model's linear weights are held in memory. Norms and biases stay float32; F16
 * halves the memory and the bytes each generated token reads; Q8_0 (8.5 bits per weight) and Q4_K (4.5)
 * are llama.cpp's block formats, for the LLM's linear layers and lm_head only (the token embeddings
 * and the vision tower stay float16, read a row or a block at a time). {@code nn.LinearLayer} picks
 * the implementation of each format for the device.
 */
public enum WeightFormat {
    F32, F16, Q8_0, Q4_K;

    /** Whether this is a quantized (block) format. */
    public boolean quantized() {
        return this == Q8_0 || this == Q4_K;
    }

    /**
     * Whether the engine keeps the KV cache as 8-bit integers with a float32 scale per head and position
     * on the CPU beside these weights (8-bit and 4-bit: memory is the reason for them, and a 2048-token
     * cache is 1.07 GB in float16 at 7B, 0.55 GB so), else float32.
     */
    public boolean cpuKvCacheInt8() {
        return quantized();
    }

    /** Bytes per cached value on the CPU, the scales included ({@code headDim} values share one). */
    public double cpuKvCacheBytesPerValue(int headDim) {
        return cpuKvCacheInt8() ? 1 + (double) Float.BYTES / headDim : Float.BYTES;
    }

    /**
     * Bytes per weight of the LLM's linear layers in memory, what a generated token reads: Q8_0 blocks of
     * 32 weights in 34 bytes; Q4_K blocks of 256 in 148 (GGUF's 144, with the 6-bit scales unpacked).
     */
    public double bytesPerWeight() {
        return switch (this) {
            case F32 -> 4;
            case F16 -> 2;
            case Q8_0 -> 34.0 / 32;
            case Q4_K -> 148.0 / 256;
        };
    }

    /** A quantized format by the name users type (q8_0 or q4_k, any case); anything else is an error naming {@code option}. */
    public static WeightFormat parseQuantized(String s, String option) {
        WeightFormat f = s == null ? null : switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "q8_0" -> Q8_0;
            case "q4_k" -> Q4_K;
            default -> null;
        };
        if (f == null) {
            throw new IllegalArgumentException(option + " must be q8_0 or q4_k (got " + s + ")");
        }
        return f;
    }

    /** The name users type: f32, f16, q8_0, q4_k. */
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** f32, f16, q8_0 or q4_k in any case, or null for {@code auto} (the engine picks what fits); anything else is an error that lists them. */
    public static WeightFormat parse(String s) {
        return s != null && s.equalsIgnoreCase("auto") ? null : Options.parse(WeightFormat.class, s, "--weights");
    }

    /** F16 for models whose float32 LLM would not leave room (more than 2 GB of weights), else F32. */
    public static WeightFormat auto(long llmParameters) {
        return llmParameters * 4 > (2L << 30) ? F16 : F32;
    }
}
