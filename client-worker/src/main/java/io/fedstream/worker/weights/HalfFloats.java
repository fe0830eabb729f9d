package io.fedstream.worker.weights;

import io.fedstream.schemas.UpdateEncoding;

/**
 * Conversions between float32 and the 16-bit formats found in checkpoints: IEEE half precision
 * (F16) and bfloat16 (BF16). Narrowing rounds to nearest, ties to even, like PyTorch.
 */
public final class HalfFloats {

    private HalfFloats() {}

    /** The float value of IEEE half-precision bits. */
    public static float f16ToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0) {
            // zero or subnormal: mant * 2^-24, exact in float
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f80_0000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** The nearest IEEE half-precision value (ties to even); overflow gives infinity. */
    public static short floatToF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        if (Float.isNaN(f)) {
            return (short) (sign | 0x7e00 | ((bits >>> 13) & 0x3ff));
        }
        float abs = Math.abs(f);
        // 65520 = largest half (65504) plus half an ulp (16): rounds to infinity
        if (abs >= 65520f) {
            return (short) (sign | 0x7c00);
        }
        // at most half of the smallest subnormal (2^-24) rounds to zero
        if (abs <= 0x1p-25f) {
            return (short) sign;
        }
        int exp = Math.getExponent(abs);
        int shift = 13;
        int significand = bits & 0x7f_ffff;
        if (exp < -14) {
            // subnormal half: shift the explicit leading one further right
            shift += -14 - exp;
            significand |= 0x80_0000;
            exp = -15;
        }
        int result = significand >>> shift;
        int lsb = (significand >>> shift) & 1;
        int round = (significand >>> (shift - 1)) & 1;
        boolean sticky = (significand & ((1 << (shift - 1)) - 1)) != 0;
        if (round == 1 && (lsb == 1 || sticky)) {
            result++;
        }
        // a carry out of the significand correctly bumps the exponent
        return (short) (sign | (((exp + 15) << 10) + result));
    }

    /** The float value of bfloat16 bits (exact). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /**
     * The nearest bfloat16 value (ties to even): the rounding the wire's BFLOAT16 encoding uses, so
     * a checkpoint and an update round alike.
     */
    public static short floatToBf16(float f) {
        return UpdateEncoding.bfloat16Bits(f);
    }
}
