package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Which code the blocks run, chosen once at load: the CPU path (Java kernels for float16 and quantized
 * linear layers, streamed embeddings, the Java sampler) or the device path, which is what a GPU runs:
 * libtorch ops only, nothing read back to the Java heap per token but the chosen token and the
 * attention records, the KV cache on the device. The device path multiplies and convolves in
 * {@link #mathType()}: with float16, the weights of every linear layer and convolution are float16 and
 * their inputs are cast to float16 at the op, while norms, softmax, RoPE and the residual stream stay
 * float32 (PyTorch autocast's policy: float16 where the tensor cores are, float32 where the range or
 * the sums need it). The device path can run on the CPU device (tests, the bench) to check on a
 * machine without a GPU the code a GPU runs.
 *
 * @param deviceOps true for the device path
 * @param mathType  FLOAT32, or FLOAT16 (device path only)
 */
public record ComputePath(boolean deviceOps, DataType mathType) {
    /** The CPU path: float32 math around whatever the weight format's kernels do. */
    public static final ComputePath CPU = new ComputePath(false, DataType.FLOAT32);

    public ComputePath {
        if (mathType != DataType.FLOAT32 && mathType != DataType.FLOAT16) {
            throw new IllegalArgumentException("the device path computes in float32 or float16, not " + mathType);
        }
        if (!deviceOps && mathType != DataType.FLOAT32) {
            throw new IllegalArgumentException("float16 math (" + mathType + ") is for the device path; the CPU path picks its kernels per layer");
        }
    }

    /** The device path in {@code mathType}. */
    public static ComputePath device(DataType mathType) {
        return new ComputePath(true, mathType);
    }

    /** Whether matmuls and convolutions run in float16. */
    public boolean half() {
        return mathType == DataType.FLOAT16;
    }

    /** {@code x} in the math type, for a matmul or a convolution (a no-op in float32). */
    NDArray in(NDArray x) {
        return x.toType(mathType, false);
    }

    /** An op's result back in float32, for the norms and the residual stream (a no-op in float32). */
    static NDArray out(NDArray y) {
        return y.toType(DataType.FLOAT32, false);
    }

    /** For logs: "CPU path", "device path, float16". */
    public String describe() {
        return deviceOps ? "device path, " + (half() ? "float16" : "float32") : "CPU path";
    }
}
