package ai.convllava.model.nn;

import ai.convllava.model.quant.QuantFormat;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * {@code nn.Linear}: y = x W^T + b, with W {@code [out, in]} held in one weight format on one device.
 * The blocks (attention, MLP, lm_head, projector, the tower's pointwise convolutions) only call
 * {@link #forward}; which code multiplies is chosen once, when the layer is made ({@link #of},
 * {@link #load}), by the weight's format and device: {@link F32LinearLayer}, {@link HalfLinearLayer}
 * (float16 on the CPU path), {@link HalfDeviceLinearLayer} (float16 on the device path) or {@link QuantLinearLayer} (Q8_0 and Q4_K on the
 * CPU). A new format is one more implementation and its tests. x and y are float32.
 */
public interface LinearLayer {
    /** Output rows per upcast block of {@link HalfLinearLayer}'s long prefills. */
    int BLOCK_ROWS = HalfLinearLayer.BLOCK_ROWS;
    /** Rows up to which a float16 layer on the CPU runs the Java kernel. */
    long HALF_KERNEL_ROWS = HalfLinearLayer.HALF_KERNEL_ROWS;
    /** Whether one non-exact row (decode) also uses the Java float16 kernel; else libtorch's float16 mat-vec. */
    boolean HALF_KERNEL_ONE_ROW = HalfLinearLayer.HALF_KERNEL_ONE_ROW;

    /**
     * @param exact compute in float32 even for few rows (weights upcast); the prefill's logits use
     *              this so that the first token is chosen from float32 logits whatever the storage
     */
    NDArray forward(NDArray x, boolean exact);

    default NDArray forward(NDArray x) {
        return forward(x, false);
    }

    /**
     * Whether {@link #matvec} runs here: one row multiplied on Java arrays, without a tensor on either side (the
     * one-token decode step, {@link LlamaModel#forwardToken}). Quantized weights on the CPU without a bias.
     */
    default boolean matvecOnHeap() {
        return false;
    }

    /** y (out) = W x (in) for one row on Java arrays; only where {@link #matvecOnHeap()}. */
    default void matvec(float[] x, float[] y) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " multiplies tensors only");
    }

    long outFeatures();

    long inFeatures();

    /**
     * This layer with float32 weights, for many forwards in a row: itself when already float32, else
     * an upcast copy whose weight the caller frees ({@link #closeIfCopyOf}).
     */
    LinearLayer float32();

    /** Frees this layer's weight if it is a {@link #float32()} copy of {@code original}'s. */
    void closeIfCopyOf(LinearLayer original);

    /** The layer for a weight as it is held (float32, or float16 on the CPU or a GPU) and an optional bias. */
    static LinearLayer of(NDArray weight, NDArray bias) {
        return of(weight, bias, weight.getDevice().isGpu());
    }

    /**
     * The layer for a weight as it is held and an optional bias.
     *
     * @param deviceOps the device path's implementation (libtorch ops only) even on the CPU device
     */
    static LinearLayer of(NDArray weight, NDArray bias, boolean deviceOps) {
        if (weight.getDataType() == DataType.FLOAT32) {
            return new F32LinearLayer(weight, bias);
        }
        if (weight.getDataType() == DataType.FLOAT16) {
            return deviceOps ? new HalfDeviceLinearLayer(weight, bias) : new HalfLinearLayer(weight, bias);
        }
        throw new IllegalArgumentException("linear layer " + weight.getName() + ": no implementation for " + weight.getDataType()
                + " weights on " + weight.getDevice());
    }

    /** Loads {@code prefix.weight} ([out, in]) in the weights' linear format and, when {@code withBias}, {@code prefix.bias}. */
    static LinearLayer load(Weights w, String prefix, long out, long in, boolean withBias) {
        return load(w, prefix + ".weight", withBias ? prefix + ".bias" : null, out, in);
    }

    /** {@code weightKey} ([out, in]) in the weights' linear format, and the bias {@code biasKey} (or none). */
    static LinearLayer load(Weights w, String weightKey, String biasKey, long out, long in) {
        NDArray bias = biasKey != null ? w.f32(biasKey, out) : null;
        boolean deviceOps = w.computePath().deviceOps() || w.manager().getDevice().isGpu();
        if (!deviceOps && QuantFormat.quantizes(w.linearFormat(), in)) {
            return new QuantLinearLayer(w.quantized(weightKey, out, in), bias, w.manager(), weightKey);
        }
        // float16 on the device path, and for rows that are not whole blocks of the quantized format (small models)
        return of(w.linear(weightKey, out, in), bias, deviceOps);
    }

    /** Turns the Java float16 kernel on or off for every layer (A/B comparisons in one JVM); on by default. */
    static void setHalfKernelEnabled(boolean enabled) {
        HalfLinearLayer.setKernelEnabled(enabled);
    }

    /** Which code multiplies float16 weights with few rows, for diagnostics ({@code self-test}). */
    static String halfKernelStatus() {
        return HalfLinearLayer.kernelStatus();
    }

    /** True when float16 layers with few rows run on {@link HalfMatmul} (available here and enabled). */
    static boolean halfKernelActive() {
        return HalfLinearLayer.kernelActive();
    }
}
