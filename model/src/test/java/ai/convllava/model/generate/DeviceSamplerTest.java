package ai.convllava.model.generate;

import ai.convllava.model.api.GenerationConfig;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device sampler follows the Java sampler's rules: the same greedy pick with and without a
 * repetition penalty, and, fed the same seed, the same draws (both take one {@code nextDouble} per
 * token; logits drawn from a normal distribution put no two candidates within float32's rounding of a
 * draw). Runs with libtorch ops on the CPU device, as on a GPU.
 */
class DeviceSamplerTest {
    private static final int VOCAB = 1000;

    private static float[] logits(Random r) {
        float[] l = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            l[i] = (float) (r.nextGaussian() * 3);
        }
        return l;
    }

    @Test
    void greedyPicksTheJavaSamplersTokenWithAndWithoutPenalty() {
        Random r = new Random(1);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (double penalty : new double[] {1.0, 1.3, 5.0}) {
                int[] seen = {3, 17, 17, 500};
                GenerationConfig cfg = new GenerationConfig(8, 0, 1, 0, penalty, 0L, false);
                try (DeviceSampler s = new DeviceSampler(cfg, 0, m, VOCAB, seen, seen.length)) {
                    for (int step = 0; step < 20; step++) {
                        float[] l = logits(r);
                        l[17] = 20; // a seen id on top, which a strong penalty moves down
                        int device;
                        try (NDArray a = m.create(l, new Shape(VOCAB))) {
                            device = s.next(a);
                            assertArrayEquals(l, a.toFloatArray(), "the sampler leaves the logits as they are");
                        }
                        Sampler.penalize(l, seen, seen.length, penalty);
                        assertEquals(Sampler.argmax(l), device, "penalty " + penalty + ", step " + step);
                    }
                    if (penalty == 5.0) {
                        float[] l = new float[VOCAB];
                        l[42] = 10;
                        l[43] = 9;
                        s.seen(42); // generated: penalised from now on (10 / 5 = 2 < 9)
                        try (NDArray a = m.create(l, new Shape(VOCAB))) {
                            assertEquals(43, s.next(a));
                        }
                    }
                }
            }
        }
    }

    @Test
    void aSeedDrawsWhatTheJavaSamplerDrawsWithIt() {
        Random r = new Random(2);
        int[] seen = {5, 9};
        GenerationConfig[] configs = {
                new GenerationConfig(8, 0.8, 0.9, 50, 1.2, 7L, false),
                new GenerationConfig(8, 1.0, 1.0, 0, 1.0, 7L, false),
                new GenerationConfig(8, 1.5, 0.5, 0, 1.0, 7L, false),
                new GenerationConfig(8, 0.7, 1.0, 5, 1.0, 7L, false),
        };
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (GenerationConfig cfg : configs) {
                Random java = new Random(cfg.seed());
                int distinct = 0;
                int previous = -1;
                try (DeviceSampler s = new DeviceSampler(cfg, cfg.seed(), m, VOCAB, seen, seen.length)) {
                    for (int step = 0; step < 200; step++) {
                        float[] l = logits(r);
                        int device;
                        try (NDArray a = m.create(l, new Shape(VOCAB))) {
                            device = s.next(a);
                        }
                        Sampler.penalize(l, seen, seen.length, cfg.repetitionPenalty());
                        int want = Sampler.sampleFrom(l, cfg.temperature(), cfg.topK(), cfg.topP(), java);
                        assertEquals(want, device, cfg + ", step " + step);
                        distinct += device != previous ? 1 : 0;
                        previous = device;
                    }
                }
                assertTrue(distinct > 20, "draws vary (" + distinct + " changes in 200): sampling, not argmax");
            }
        }
    }

    @Test
    void theSameSeedGivesTheSameTokens() {
        GenerationConfig cfg = new GenerationConfig(8, 1.0, 0.95, 40, 1.1, 11L, false);
        int[][] runs = new int[2][100];
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            for (int[] run : runs) {
                Random r = new Random(3);
                try (DeviceSampler s = new DeviceSampler(cfg, 11L, m, VOCAB, new int[0], 0)) {
                    for (int i = 0; i < run.length; i++) {
                        try (NDArray a = m.create(logits(r), new Shape(VOCAB))) {
                            run[i] = s.next(a);
                            s.seen(run[i]);
                        }
                    }
                }
            }
            assertArrayEquals(runs[0], runs[1]);
            try (DeviceSampler s = new DeviceSampler(cfg, 11L, m, VOCAB, new int[0], 0); NDArray wrong = m.zeros(new Shape(1, VOCAB))) {
                assertThrows(IllegalArgumentException.class, () -> s.next(wrong), "(1, vocab) logits are refused, not misread");
            }
        }
    }
}
