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
        // in place where the math allows, and each (T, 11008) map freed when used (28 MB each at T = 638)
        NDArray g = gateProj.forward(x);
        NDArray sig = Activation.sigmoid(g);
        NDArray silu = g.muli(sig); // silu(g) = g * sigmoid(g)
        sig.close();
        NDArray up = upProj.forward(x);
        silu.muli(up);
        up.close();
        NDArray y = downProj.forward(silu);
        silu.close();
        return y;
    }

    /** Whether {@link #forwardToken} can run: every projection multiplies on Java arrays. */
    boolean matvecOnHeap() {
        return gateProj.matvecOnHeap() && upProj.matvecOnHeap() && downProj.matvecOnHeap();
    }

    /** One row on Java arrays ({@link LlamaModel#forwardToken}): the same float32 steps as {@link #forward(NDArray)}. */
    float[] forwardToken(float[] x) {
        float[] g = new float[(int) gateProj.outFeatures()];
        float[] up = new float[g.length];
        gateProj.matvec(x, g);
        upProj.matvec(x, up);
        for (int i = 0; i < g.length; i++) {
            float sig = (float) (1 / (1 + Math.exp(-g[i])));
            g[i] = g[i] * sig * up[i]; // silu(g) = g * sigmoid(g), then times up, each product rounded as libtorch's
        }
        float[] y = new float[(int) downProj.outFeatures()];
        downProj.matvec(g, y);
        return y;
    }
}
