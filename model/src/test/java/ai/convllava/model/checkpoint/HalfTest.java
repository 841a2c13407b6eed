package ai.convllava.model.checkpoint;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfTest {

    private static void bits(int expected, float f) {
        assertEquals(String.format("0x%04x", expected), String.format("0x%04x", Half.fromFloat(f) & 0xffff), "fromFloat(" + f + ")");
    }

    @Test
    void knownValues() {
        assertEquals(1.0f, Half.toFloat((short) 0x3c00));
        assertEquals(-2.0f, Half.toFloat((short) 0xc000));
        assertEquals(0.5f, Half.toFloat((short) 0x3800));
        assertEquals(65504f, Half.toFloat((short) 0x7bff));
        assertEquals(0x1p-14f, Half.toFloat((short) 0x0400), "smallest normal");
        assertEquals(0.333251953125f, Half.toFloat((short) 0x3555));
        bits(0x3c00, 1.0f);
        bits(0xc000, -2.0f);
        bits(0x7bff, 65504f);
        bits(0x3555, 1f / 3f);
        bits(0x0000, 0f);
        bits(0x8000, -0f);
        assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(Half.toFloat((short) 0x8000)));
    }

    @Test
    void subnormals() {
        assertEquals(0x1p-24f, Half.toFloat((short) 0x0001));
        assertEquals(1023 * 0x1p-24f, Half.toFloat((short) 0x03ff));
        assertEquals(-0x1p-24f, Half.toFloat((short) 0x8001));
        bits(0x0001, 0x1p-24f);
        bits(0x03ff, 1023 * 0x1p-24f);
        bits(0x0000, 0x1p-25f);            // exactly half the smallest subnormal: ties to even (0)
        bits(0x0001, 0x1.000002p-25f);     // just above half: rounds up
        bits(0x0002, 1.5f * 0x1p-24f);     // 1.5 ulp: ties to even (2)
        bits(0x0002, 2.5f * 0x1p-24f);     // 2.5 ulp: ties to even (2)
        bits(0x0003, 2.75f * 0x1p-24f);
        bits(0x0400, 1023.5f * 0x1p-24f);  // rounds up into the smallest normal
        bits(0x0000, Float.MIN_VALUE);
        bits(0x8000, -1e-30f);
    }

    @Test
    void infinityAndNan() {
        assertEquals(Float.POSITIVE_INFINITY, Half.toFloat((short) 0x7c00));
        assertEquals(Float.NEGATIVE_INFINITY, Half.toFloat((short) 0xfc00));
        assertTrue(Float.isNaN(Half.toFloat((short) 0x7e00)));
        assertTrue(Float.isNaN(Half.toFloat((short) 0x7c01)), "signalling NaN stays NaN");
        bits(0x7c00, Float.POSITIVE_INFINITY);
        bits(0xfc00, Float.NEGATIVE_INFINITY);
        assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(Float.NaN))));
        assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(Float.intBitsToFloat(0x7f800001)))), "NaN with a low payload");
        bits(0x7c00, 1e6f);
        bits(0xfc00, -1e6f);
        bits(0x7c00, 65520f);  // halfway between 65504 and 65536: ties to even, which is infinity
        bits(0x7bff, 65519f);
    }

    @Test
    void roundsToNearestEven() {
        bits(0x3c00, 1f + 0x1p-11f);        // halfway between 1 and 1+2^-10: even is 1
        bits(0x3c02, 1f + 3 * 0x1p-11f);    // halfway between 1+2^-10 and 1+2^-9: even is 0x3c02
        bits(0x3c01, 1f + 0x1.004p-11f);    // just above halfway
        bits(0x3c00, 1f + 0x1.ffcp-12f);    // just below halfway
        bits(0x4000, 2f - 0x1p-12f);        // rounds up across the exponent
    }

    @Test
    void everyHalfRoundTripsAndMatchesItsDefinition() {
        for (int i = 0; i < 65536; i++) {
            short h = (short) i;
            float f = Half.toFloat(h);
            int exp = (i >>> 10) & 0x1f;
            int mant = i & 0x3ff;
            double sign = (i & 0x8000) != 0 ? -1 : 1;
            if (exp == 0x1f) {
                assertTrue(mant == 0 ? Float.isInfinite(f) : Float.isNaN(f), "0x" + Integer.toHexString(i));
                continue;
            }
            double expected = exp == 0 ? sign * mant * Math.pow(2, -24) : sign * (1 + mant / 1024.0) * Math.pow(2, exp - 15);
            assertEquals(expected, f, 0.0, "0x" + Integer.toHexString(i));
            assertEquals(i, Half.fromFloat(f) & 0xffff, "round trip of 0x" + Integer.toHexString(i));
            assertEquals(f, Half.table()[i]);
        }
    }
}
