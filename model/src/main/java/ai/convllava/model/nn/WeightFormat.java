package ai.convllava.model.nn;

/**
 * How the LLM's linear weights are stored in memory. Norms, biases, convolutions and the vision
 * tower stay float32 on CPU. F16 halves memory and decode bandwidth: decode (one row) runs
 * {@code Linear.linear(x_f16, W_f16)} on {@code [out,in]} weights, a short prefill (3 to 80 rows: a
 * question, a follow-up) runs the Java kernel {@link HalfMatmul} on the float16 bytes in place, a long
 * one upcasts each weight to float32 for its matmul (f16 with many rows is slow in libtorch on CPU);
 * see {@link LinearLayer}.
 */
public enum WeightFormat {
    F32, F16;

    /** F16 for models whose float32 LLM would not leave room (more than 2 GB of weights), else F32. */
    public static WeightFormat auto(long llmParameters) {
        return llmParameters * 4 > (2L << 30) ? F16 : F32;
    }
}
