package io.fedstream.aggregation;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Kernels over little-endian tensor bytes (FLOAT32 or BFLOAT16), read in place: no per-element
 * allocation, no boxing, no intermediate float[].
 */
public final class LittleEndianFloats {
    private static final VarHandle F32 =
            MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I16 =
            MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** Element type of the bytes: FLOAT32 (4 bytes) or BFLOAT16 (2 bytes). */
    public enum Kind {
        FLOAT32(4),
        BFLOAT16(2);

        public final int bytes;

        Kind(int bytes) {
            this.bytes = bytes;
        }
    }

    private LittleEndianFloats() {}

    /** Element {@code i} of {@code data}. */
    public static float get(byte[] data, Kind kind, int i) {
        return kind == Kind.FLOAT32
                ? (float) F32.get(data, i << 2)
                : Float.intBitsToFloat(((short) I16.get(data, i << 1) & 0xFFFF) << 16);
    }

    /** acc[i] += w · x[i] for every element; {@code acc.length} elements are read. */
    public static void accumulate(double[] acc, byte[] x, Kind kind, double w) {
        int n = acc.length;
        if (x.length != n * kind.bytes) {
            throw new IllegalArgumentException(
                    "tensor has " + x.length + " bytes, expected " + n * kind.bytes);
        }
        if (kind == Kind.FLOAT32) {
            for (int i = 0; i < n; i++) {
                acc[i] += w * (float) F32.get(x, i << 2);
            }
        } else {
            for (int i = 0; i < n; i++) {
                acc[i] += w * Float.intBitsToFloat(((short) I16.get(x, i << 1) & 0xFFFF) << 16);
            }
        }
    }

    /** Statistics of a tensor needed by validation, computed in one pass. */
    public record Stats(boolean finite, double maxAbs, double sumSquares) {}

    public static Stats stats(byte[] x, Kind kind) {
        int n = x.length / kind.bytes;
        double maxAbs = 0;
        double sumSq = 0;
        boolean finite = true;
        for (int i = 0; i < n; i++) {
            float v = get(x, kind, i);
            if (!Float.isFinite(v)) {
                finite = false;
                break;
            }
            double a = Math.abs(v);
            if (a > maxAbs) {
                maxAbs = a;
            }
            sumSq += (double) v * v;
        }
        return new Stats(finite, maxAbs, sumSq);
    }

    /** The elements as a new float[]. */
    public static float[] toFloats(byte[] x, Kind kind) {
        float[] out = new float[x.length / kind.bytes];
        for (int i = 0; i < out.length; i++) {
            out[i] = get(x, kind, i);
        }
        return out;
    }

    /** Little-endian FLOAT32 bytes of {@code v}. */
    public static byte[] fromFloats(float[] v) {
        byte[] out = new byte[v.length * 4];
        for (int i = 0; i < v.length; i++) {
            F32.set(out, i << 2, v[i]);
        }
        return out;
    }
}
