package ai.convllava.model.generate;

import ai.convllava.model.api.GenerationConfig;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Random;

/**
 * The device path's {@link Sampler}: repetition penalty, argmax or temperature / top-k / top-p and the
 * draw, all with libtorch ops on the logits where they were computed, so that a step copies one token id
 * to the host instead of the vocabulary's logits (128 KB per token for Vicuna, through a GPU
 * synchronisation either way, but without the float[] and its Java work). The same rules as
 * {@link Sampler#sampleFrom} and {@link Sampler#penalize}; the draw's uniform number comes from a
 * {@code java.util.Random} with the answer's seed, not from the device's generator, so a seed gives the
 * same answer on every device and run (the device's random state is global to the process). Sums run
 * in float32 on the device where the CPU sampler sums in double, so for one seed the two may pick
 * differently at a probability boundary; greedy decoding picks the same token.
 */
public final class DeviceSampler implements AutoCloseable {
    private final NDManager manager;
    private final boolean greedy;
    private final double temperature;
    private final int topK;
    private final double topP;
    private final double penalty;
    private final int vocab;
    private final Random random;
    /** (vocab) 1 where an id was seen (prompt or generated), for the repetition penalty; null without one. */
    private final NDArray seen;

    /**
     * @param parent    the model's manager (the device the logits are on); the sampler's mask lives in a
     *                  sub-manager closed with it
     * @param seenIds   the ids seen so far, [0, seenCount): the prompt's
     */
    public DeviceSampler(GenerationConfig c, long seed, NDManager parent, int vocab, int[] seenIds, int seenCount) {
        this.manager = parent.newSubManager();
        this.greedy = c.isGreedy();
        this.temperature = c.temperature();
        this.topK = c.topK();
        this.topP = c.topP();
        this.penalty = c.repetitionPenalty();
        this.vocab = vocab;
        this.random = new Random(seed);
        if (penalty != 1.0) {
            // zeros on the device and one scalar write per distinct id: DJL's create(float[]) would leave a
            // vocabulary-sized direct buffer per answer for a GC to free (nn.HeapArrays tells why that matters)
            NDArray m = manager.zeros(new Shape(vocab), DataType.FLOAT32);
            NDScope.unregister(m);
            this.seen = m;
            java.util.BitSet done = new java.util.BitSet(vocab);
            for (int i = 0; i < seenCount; i++) {
                int id = seenIds[i];
                if (id >= 0 && id < vocab && !done.get(id)) {
                    done.set(id);
                    m.set(new NDIndex("{}", id), 1f);
                }
            }
        } else {
            this.seen = null;
        }
    }

    /** Records a generated id for the repetition penalty (one scalar written on the device). */
    public void seen(int id) {
        if (seen != null && id >= 0 && id < vocab) {
            seen.set(new NDIndex("{}", id), 1f);
        }
    }

    /** The next token from float32 logits (vocab) on the device; the logits are not changed. */
    public int next(NDArray logits) {
        if (logits.getShape().dimension() != 1 || logits.getShape().get(0) != vocab) {
            throw new IllegalArgumentException("logits are " + logits.getShape() + ", expected (" + vocab + ")");
        }
        try (NDScope scope = new NDScope()) {
            NDArray l = penalized(logits);
            if (greedy) {
                return (int) l.argMax().getLong(); // the one copy of the step
            }
            return draw(l);
        }
    }

    /** transformers' repetition penalty: seen ids' positive logits divided by it, negative ones multiplied. */
    private NDArray penalized(NDArray logits) {
        if (seen == null) {
            return logits;
        }
        NDArray penalizedValues = NDArrays.where(logits.gt(0), logits.div(penalty), logits.mul(penalty));
        return NDArrays.where(seen.gt(0), penalizedValues, logits);
    }

    /** Temperature, top-k, top-p over the softmax, one draw by inverse CDF, as {@link Sampler#sampleFrom}. */
    private int draw(NDArray logits) {
        int k = topK > 0 ? Math.min(topK, vocab) : vocab;
        NDList top = logits.div(temperature).topK(k, 0, true, true); // values descending, their ids
        NDArray ids = top.get(1); // (k) int64
        NDArray p = top.get(0).softmax(0); // (k), over the kept ids as the CPU sampler normalises
        NDArray positions = manager.arange(0f, (float) k); // (k) 0, 1, ... float32, on the logits' device
        // nucleus: the smallest prefix whose probability reaches top_p (at least one token): cut - 1 =
        // how many cumulative sums stay below top_p, at most k - 1
        NDArray last = p.cumSum(0).lt(topP).toType(DataType.FLOAT32, false).sum().minimum(k - 1f); // () cut - 1
        NDArray kept = p.mul(positions.lte(last).toType(DataType.FLOAT32, false)); // (k) zero past the cut
        NDArray cum = kept.cumSum(0);
        NDArray r = cum.get(k - 1).mul(random.nextDouble()); // () a point in [0, total)
        // the first position whose cumulative sum reaches r (never past the cut, whatever the rounding)
        NDArray pick = cum.lt(r).toType(DataType.FLOAT32, false).sum().minimum(last); // ()
        NDArray id = ids.mul(positions.eq(pick).toType(DataType.INT64, false)).sum(); // () ids[pick]
        return (int) id.getLong(); // the one copy of the step
    }

    @Override
    public void close() {
        manager.close();
    }
}
