package ai.convllava.model.nn;

import ai.convllava.model.api.WeightFormat;
import ai.convllava.model.config.ConvNextConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;

/**
 * transformers' {@code ConvNextStage}: an optional {@code downsampling_layer} (channels-first
 * LayerNorm, then conv 2x2 stride 2; every stage but the first) followed by {@code layers}.
 * ConvLLaVA's fifth stage is one more of these (6 blocks, width 3072 in ConvLLaVA-1536).
 */
public final class ConvNextStage {
    private static final Shape TWO = new Shape(2, 2);

    private final ChannelsLastLayerNorm downNorm;
    private final NDArray downWeight;
    private final NDArray downBias;
    private final List<ConvNextLayer> layers = new ArrayList<>();
    /** Set when the blocks are streamed: each block's weights are read just before it runs and freed after. */
    private final Weights streamed;
    private final String prefix;
    private final int width;
    private final int depth;
    private final boolean layerScale;
    private final ComputePath path;

    /** Loads the downsampling layer and every block now. */
    public ConvNextStage(Weights w, String prefix, ConvNextConfig c, int stage) {
        this(w, prefix, c, stage, false);
    }

    /**
     * @param streamBlocks keep only the downsampling layer (at most 75 MB); read each block's weights
     *                     from {@code w}'s source (as float32) when it runs and free them after it. The
     *                     blocks are loaded once here all the same, one at a time, so that a missing or
     *                     mis-shaped weight fails the load rather than the first image.
     */
    public ConvNextStage(Weights w, String prefix, ConvNextConfig c, int stage, boolean streamBlocks) {
        int out = c.hiddenSize(stage);
        this.prefix = prefix;
        this.width = out;
        this.depth = c.depth(stage);
        this.layerScale = c.layerScale();
        this.streamed = streamBlocks ? w : null;
        this.path = w.computePath();
        if (stage > 0) {
            int in = c.hiddenSize(stage - 1);
            this.downNorm = new ChannelsLastLayerNorm(w, prefix + "downsampling_layer.0", in);
            // the CPU path keeps the kernel as the tower's linears are stored (float16 unless float32: the fifth stage's
            // is 75 MB as float32, resident for the session) and widens it for the convolution
            this.downWeight = w.widenedWhenUsed(prefix + "downsampling_layer.1.weight", out, in, 2, 2);
            this.downBias = w.math(prefix + "downsampling_layer.1.bias", out);
        } else {
            this.downNorm = null;
            this.downWeight = null;
            this.downBias = null;
        }
        for (int i = 0; i < depth; i++) {
            if (streamBlocks) {
                try (NDManager check = w.manager().newSubManager()) {
                    block(w.checking(check, streamedFormat()), i); // read once now, so a bad checkpoint fails the load
                }
            } else {
                layers.add(block(w, i));
            }
        }
    }

    /** How a streamed block's linear weights are read: as the resident tower keeps them. */
    private WeightFormat streamedFormat() {
        return streamed.linearFormat() == WeightFormat.F32 ? WeightFormat.F32 : WeightFormat.F16;
    }

    private ConvNextLayer block(Weights w, int i) {
        return new ConvNextLayer(w, prefix + "layers." + i + ".", width, layerScale);
    }

    /**
     * (1, H, W, Cin) -> (1, H/2, W/2, Cout) (or the same size for the first stage). Takes {@code x}:
     * closes it as soon as it is no longer needed (after the downsampling or the first block), and on
     * failure or cancellation, so a full-size map never outlives its use.
     */
    public NDArray forward(NDArray x, BooleanSupplier cancelled) {
        NDArray h = x;
        try {
            if (downNorm != null) {
                try (NDScope scope = new NDScope()) {
                    NDArray n = downNorm.forward(x).transpose(0, 3, 1, 2); // (1, H, W, C) -> (1, C, H, W) view
                    NDArray kernel = downWeight.getDataType() == downBias.getDataType() ? downWeight
                            : downWeight.toType(downBias.getDataType(), false); // the scope frees the widened copy
                    NDArray d = ComputePath.out(Conv2d.conv2d(path.in(n), kernel, downBias, TWO).singletonOrThrow());
                    h = d.transpose(0, 2, 3, 1); // (1, C, H/2, W/2) -> (1, H/2, W/2, C): channels-last storage, so contiguous
                    NDScope.unregister(h);
                }
                x.close();
            }
            for (int i = 0; i < depth; i++) {
                if (cancelled.getAsBoolean()) {
                    throw new CancellationException("image encoding cancelled");
                }
                NDArray next;
                if (streamed == null) {
                    next = layers.get(i).forward(h);
                } else {
                    // the block's weights live in their own manager; its output belongs to h's (first operand). They are
                    // read in the resident tower's format: float16 (exact for bf16 checkpoints) except for float32 models,
                    // half the memory of float32 for the fifth stage's 302 MB blocks
                    try (NDManager blockWeights = h.getManager().newSubManager()) {
                        next = block(streamed.streaming(blockWeights, streamedFormat()), i).forward(h);
                    }
                }
                if (next != h) { // a big map's block writes its output over its input (ConvNextLayer.forward)
                    h.close();
                }
                h = next;
            }
            return h;
        } catch (RuntimeException | Error e) {
            h.close(); // outside any scope (layers unregister their output): a cancelled encode must not leak it
            x.close(); // closing twice is a no-op
            throw e;
        }
    }

    public int depth() {
        return depth;
    }
}
