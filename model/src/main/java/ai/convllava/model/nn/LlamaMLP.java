package ai.convllava.model.nn;

import ai.convllava.model.config.LlamaConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;

/** {@code LlamaMLP}. FFN in PyTorch: {@code down_proj(F.silu(gate_proj(x)) * up_proj(x))}. */
public final class LlamaMLP {
    private final LinearLayer gateProj;
    private final LinearLayer upProj;
    private final LinearLayer downProj;

    public LlamaMLP(Weights w, String prefix, LlamaConfig c) {
        this.gateProj = LinearLayer.load(w, prefix + "gate_proj", c.intermediateSize(), c.hiddenSize(), false);
        this.upProj = LinearLayer.load(w, prefix + "up_proj", c.intermediateSize(), c.hiddenSize(), false);
        this.downProj = LinearLayer.load(w, prefix + "down_proj", c.hiddenSize(), c.intermediateSize(), false);
    }

    public NDArray forward(NDArray x) {
        NDArray g = gateProj.forward(x);
        NDArray silu = g.mul(Activation.sigmoid(g));
        return downProj.forward(silu.mul(upProj.forward(x)));
    }
}
