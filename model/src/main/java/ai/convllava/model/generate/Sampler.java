package ai.convllava.model.generate;

import ai.convllava.model.api.GenerationConfig;

import java.util.Arrays;
import java.util.Random;

/**
 * Picks the next token from logits, in Java (DJL has no multinomial). {@link #ARGMAX} is greedy;
 * {@link #of} builds the temperature / top-k / top-p sampler with its own seeded random source so
 * the same seed gives the same answer.
 */
@FunctionalInterface
public interface Sampler {
    Sampler ARGMAX = logits -> argmax(logits);

    int sample(float[] logits);

    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static Sampler of(GenerationConfig c, long seed) {
        if (c.isGreedy()) {
            return ARGMAX;
        }
        Random random = new Random(seed);
        return logits -> sampleFrom(logits, c.temperature(), c.topK(), c.topP(), random);
    }

    /** Temperature, then top-k, then top-p over the softmax, then one draw. */
    static int sampleFrom(float[] logits, double temperature, int topK, double topP, Random random) {
        int n = logits.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(logits[b], logits[a]));
        int keep = topK > 0 ? Math.min(topK, n) : n;
        double max = logits[order[0]] / temperature;
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[order[i]] / temperature - max);
            sum += p[i];
        }
        // nucleus: the smallest prefix whose probability reaches top_p (at least one token)
        double cum = 0;
        int cut = keep;
        for (int i = 0; i < keep; i++) {
            cum += p[i] / sum;
            if (cum >= topP) {
                cut = i + 1;
                break;
            }
        }
        double total = 0;
        for (int i = 0; i < cut; i++) {
            total += p[i];
        }
        double r = random.nextDouble() * total;
        for (int i = 0; i < cut; i++) {
            r -= p[i];
            if (r <= 0) {
                return order[i];
            }
        }
        return order[cut - 1];
    }

    /** transformers' repetition penalty, in place, over the ids seen so far. */
    static void penalize(float[] logits, int[] seen, int seenCount, double penalty) {
        if (penalty == 1.0) {
            return;
        }
        boolean[] done = new boolean[logits.length];
        for (int i = 0; i < seenCount; i++) {
            int id = seen[i];
            if (id < 0 || id >= logits.length || done[id]) {
                continue;
            }
            done[id] = true;
            logits[id] = logits[id] > 0 ? (float) (logits[id] / penalty) : (float) (logits[id] * penalty);
        }
    }
}
