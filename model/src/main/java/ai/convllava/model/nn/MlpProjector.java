package ai.convllava.model.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Activation;

import java.util.List;

/** LLaVA's {@code mlp2x_gelu} projector: {@code model.mm_projector.0} (Linear), GELU, {@code model.mm_projector.2} (Linear). */
public final class MlpProjector {
    public static final String PREFIX = "model.mm_projector.";
    private final LinearLayer fc1;
    private final LinearLayer fc2;
    /** The CPU path's float16 weights multiply in float32 for any number of tokens; the device path in its math type. */
    private final boolean exact;

    public MlpProjector(Weights w, int visionSize, int hiddenSize) {
        // on the CPU path float16 unless the LLM is float32 (its 29 M parameters at 1536 are 0.12 GB as float32, all of it
        // resident beside a 4-bit model), multiplied in float32 (HalfLinearLayer widens its weights for an image's
        // hundreds of tokens), so the sums are those of the float16 values; on the device path in its math type, as the
        // tower and the LLM
        boolean deviceOps = w.computePath().deviceOps();
        this.exact = !deviceOps;
        this.fc1 = LinearLayer.of(w.widenedWhenUsed(PREFIX + "0.weight", hiddenSize, visionSize), w.f32(PREFIX + "0.bias", hiddenSize), deviceOps);
        this.fc2 = LinearLayer.of(w.widenedWhenUsed(PREFIX + "2.weight", hiddenSize, hiddenSize), w.f32(PREFIX + "2.bias", hiddenSize), deviceOps);
    }

    public static List<String> keys() {
        return List.of(PREFIX + "0.weight", PREFIX + "0.bias", PREFIX + "2.weight", PREFIX + "2.bias");
    }

    /** (1, N, visionSize) -> (1, N, hiddenSize). */
    public NDArray forward(NDArray features) {
        try (NDScope scope = new NDScope()) {
            NDArray out = fc2.forward(Activation.gelu(fc1.forward(features, exact)), exact);
            NDScope.unregister(out);
            return out;
        }
    }
}
