package ai.convllava.model.checkpoint;

/**
 * IEEE 754 binary16 ("half", torch.float16) conversions. Java 17 has no
 * {@code Float.float16ToFloat}, so this is the same arithmetic done by hand: subnormals,
 * infinities and NaN are kept; {@link #fromFloat} rounds to nearest, ties to even, and overflows
 * to infinity.
 */
public final class Half {
    /** 0x7bff, the largest finite half. */
    public static final float MAX_VALUE = 65504f;

    private Half() {
    }

    /** The float32 value of the half whose bits are {@code h}; exact (every half is a float). */
    public static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            // infinity (mant == 0) or NaN, payload kept in the top mantissa bits
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            // zero or subnormal: mant * 2^-24, exact in float32
            float f = mant * 0x1p-24f;
            return sign != 0 ? -f : f;
        }
        // normal: rebias the exponent from 15 to 127
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** The half nearest to {@code f} (ties to even); beyond {@link #MAX_VALUE} rounds to infinity. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            if (mant == 0) {
                return (short) (sign | 0x7c00);
            }
            // NaN: keep the top payload bits, force quiet so it cannot collapse into infinity
            return (short) (sign | 0x7c00 | 0x200 | (mant >>> 13));
        }
        if (exp == 0) {
            // float32 zero or subnormal (< 2^-126): far below half's smallest subnormal 2^-24
            return (short) sign;
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            // result is a half subnormal (or zero): units of 2^-24
            int m = mant | 0x800000;
            int shift = 14 - e;
            if (shift >= 25) {
                // below 2^-25: at most half the smallest subnormal, rounds to (even) zero
                return (short) sign;
            }
            int result = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (result & 1) == 1)) {
                result++; // may carry into 0x400, the smallest normal: still the right encoding
            }
            return (short) (sign | result);
        }
        int result = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (result & 1) == 1)) {
            result++; // may carry into the exponent, up to 0x7c00 = infinity: correct
        }
        return (short) (sign | result);
    }

    /** All 65536 halves as floats, for the bulk conversion loop. */
    public static float[] table() {
        return Table.VALUES;
    }

    private static final class Table {
        static final float[] VALUES = new float[65536];

        static {
            for (int i = 0; i < 65536; i++) {
                VALUES[i] = toFloat((short) i);
            }
        }
    }
}
