package ai.convllava.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ScalingTest {
    @Test
    void aLinearStackIsExtrapolatedExactly() {
        // q(L) = 100 + 30 L
        double q4 = 100 + 30 * 4;
        double q1 = 100 + 30;
        assertEquals(30, Scaling.perLayer(q4, q1, 4), 1e-9);
        assertEquals(100 + 30 * 32, Scaling.extrapolate(q4, q1, 4, 32), 1e-9);
        assertEquals(q4, Scaling.extrapolate(q4, q1, 32, 32), "full depth is not extrapolated");
    }

    @Test
    void ratesGoThroughTheirTimePerToken() {
        // 50 ms fixed + 20 ms per layer: 2 layers 90 ms, 1 layer 70 ms, 32 layers 690 ms
        double rate = Scaling.extrapolateRate(1000 / 90.0, 1000 / 70.0, 2, 32);
        assertEquals(1000 / 690.0, rate, 1e-9);
    }

    @Test
    void noiseThatMakesMoreLayersFasterIsNotMultipliedIntoANegativeTime() {
        // one layer measured slower than four: the four-layer figure stands, nothing is subtracted
        assertEquals(120, Scaling.extrapolate(120, 150, 4, 32), 1e-9);
        assertEquals(1000 / 12.0, Scaling.extrapolateRate(1000 / 12.0, 1000 / 15.0, 4, 32), 1e-9);
    }

    @Test
    void memoryAddsTheMissingLayers() {
        assertEquals(1000 + 28 * 10, Scaling.extrapolateBytes(1000, 10, 4, 32));
    }

    @Test
    void oneLayerCannotBeExtrapolated() {
        assertThrows(IllegalArgumentException.class, () -> Scaling.extrapolate(1, 1, 1, 32));
    }

    @Test
    void decodeBytesPerTokenOfVicuna7bInF16() {
        // 32 x 202.4 M layer weights + 131 M lm_head, 2 bytes each
        assertEquals(13.21e9, SyntheticModel.convLlava(1536).decodeWeightBytesPerToken(2), 0.01e9);
    }
}
