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
    private static final VarHandle I32 =
            MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
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

    /**
     * acc[i] += w · x[i] for every element; {@code acc.length} elements are read. Uses the Vector
     * API kernel ({@link VectorAccumulate}) when the JVM was started with {@code --add-modules
     * jdk.incubator.vector} and {@code -Dfedstream.simd=false} is not set, else the scalar loop.
     * Both compute {@code acc[i] + w * (double) x[i]} per element, rounded twice (no FMA), so the
     * result is the same bit for bit.
     */
    public static void accumulate(double[] acc, byte[] x, Kind kind, double w) {
        checkSize(acc, x, kind);
        accumulate(acc, x, kind, w, 0, acc.length);
    }

    /** acc[i] += w · x[i] for i in [from, to) (e.g. one thread's part of a tensor). */
    public static void accumulate(double[] acc, byte[] x, Kind kind, double w, int from, int to) {
        checkRange(acc, x, kind, from, to);
        if (VECTOR != null) {
            VECTOR.accumulate(acc, x, kind == Kind.FLOAT32, w, from, to);
        } else {
            scalar(acc, x, kind, w, from, to);
        }
    }

    /**
     * acc[i] += w[0]·xs[0][i], then += w[1]·xs[1][i], … for i in [from, to): the same additions in
     * the same order per element as calling {@link #accumulate} once per update, so the same bits,
     * but each sum is read and written once for the whole batch instead of once per update (the
     * float64 sums are 4/5 of the memory traffic of one float32 update).
     */
    public static void accumulateAll(
            double[] acc, byte[][] xs, Kind kind, double[] w, int from, int to) {
        if (xs.length != w.length) {
            throw new IllegalArgumentException(xs.length + " updates but " + w.length + " weights");
        }
        for (byte[] x : xs) {
            checkRange(acc, x, kind, from, to);
        }
        if (VECTOR != null) {
            VECTOR.accumulateAll(acc, xs, kind == Kind.FLOAT32, w, from, to);
        } else {
            scalarAll(acc, xs, kind, w, from, to);
        }
    }

    /** {@link #accumulateAll} with the scalar loop alone. */
    public static void accumulateAllScalar(
            double[] acc, byte[][] xs, Kind kind, double[] w, int from, int to) {
        if (xs.length != w.length) {
            throw new IllegalArgumentException(xs.length + " updates but " + w.length + " weights");
        }
        for (byte[] x : xs) {
            checkRange(acc, x, kind, from, to);
        }
        scalarAll(acc, xs, kind, w, from, to);
    }

    /** {@link #accumulateAll} with the Vector API kernel alone. */
    public static void accumulateAllVector(
            double[] acc, byte[][] xs, Kind kind, double[] w, int from, int to) {
        Kernel k = VECTOR_IF_LOADED;
        if (k == null) {
            throw new UnsupportedOperationException(
                    "jdk.incubator.vector is not loaded (java --add-modules jdk.incubator.vector)");
        }
        if (xs.length != w.length) {
            throw new IllegalArgumentException(xs.length + " updates but " + w.length + " weights");
        }
        for (byte[] x : xs) {
            checkRange(acc, x, kind, from, to);
        }
        k.accumulateAll(acc, xs, kind == Kind.FLOAT32, w, from, to);
    }

    /** Elements per block of the scalar batch loop: 32 KiB of sums, which stay in L1/L2. */
    private static final int BLOCK = 4096;

    /**
     * Scalar {@link #accumulateAll}: block by block, each update in order over the block, so each
     * block of sums comes from memory once per batch and the inner loop is the plain scalar one.
     */
    static void scalarAll(double[] acc, byte[][] xs, Kind kind, double[] w, int from, int to) {
        for (int b = from; b < to; b += BLOCK) {
            int e = Math.min(to, b + BLOCK);
            for (int u = 0; u < xs.length; u++) {
                scalar(acc, xs[u], kind, w[u], b, e);
            }
        }
    }

    /** The scalar loop alone, whatever is available (the reference, and for benchmarks). */
    public static void accumulateScalar(
            double[] acc, byte[] x, Kind kind, double w, int from, int to) {
        checkRange(acc, x, kind, from, to);
        scalar(acc, x, kind, w, from, to);
    }

    /**
     * The Vector API kernel alone.
     *
     * @throws UnsupportedOperationException if the incubator module is not loaded
     */
    public static void accumulateVector(
            double[] acc, byte[] x, Kind kind, double w, int from, int to) {
        Kernel k = VECTOR_IF_LOADED;
        if (k == null) {
            throw new UnsupportedOperationException(
                    "jdk.incubator.vector is not loaded (java --add-modules jdk.incubator.vector)");
        }
        checkRange(acc, x, kind, from, to);
        k.accumulate(acc, x, kind == Kind.FLOAT32, w, from, to);
    }

    /**
     * Which kernel {@link #accumulate} uses: "vector (…)" with the lane count, or "scalar" with the
     * reason.
     */
    public static String kernel() {
        return KERNEL_DESCRIPTION;
    }

    private static void scalar(double[] acc, byte[] x, Kind kind, double w, int from, int to) {
        if (kind == Kind.FLOAT32) {
            for (int i = from; i < to; i++) {
                acc[i] += w * (float) F32.get(x, i << 2);
            }
        } else {
            for (int i = from; i < to; i++) {
                acc[i] += w * Float.intBitsToFloat(((short) I16.get(x, i << 1) & 0xFFFF) << 16);
            }
        }
    }

    private static void checkSize(double[] acc, byte[] x, Kind kind) {
        if (x.length != acc.length * kind.bytes) {
            throw new IllegalArgumentException(
                    "tensor has " + x.length + " bytes, expected " + acc.length * kind.bytes);
        }
    }

    private static void checkRange(double[] acc, byte[] x, Kind kind, int from, int to) {
        if (from < 0 || to < from || to > acc.length || (long) to * kind.bytes > x.length) {
            throw new IndexOutOfBoundsException(
                    "range ["
                            + from
                            + ", "
                            + to
                            + ") outside "
                            + acc.length
                            + " sums / "
                            + x.length
                            + " bytes");
        }
    }

    /** An accumulate kernel over [from, to); implemented by {@link VectorAccumulate}. */
    interface Kernel {
        void accumulate(double[] acc, byte[] x, boolean float32, double w, int from, int to);

        void accumulateAll(
                double[] acc, byte[][] xs, boolean float32, double[] w, int from, int to);

        String describe();
    }

    /** The vector kernel if the module is loaded (whatever fedstream.simd says), else null. */
    private static final Kernel VECTOR_IF_LOADED;

    /** The kernel {@link #accumulate} uses; null means the scalar loop. */
    private static final Kernel VECTOR;

    private static final String KERNEL_DESCRIPTION;

    static {
        Kernel loaded = null;
        String why;
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            why =
                    "scalar (jdk.incubator.vector not loaded; java --add-modules jdk.incubator.vector)";
        } else {
            try {
                // Loaded by name so that this class never links against the incubator module.
                loaded =
                        (Kernel)
                                Class.forName("io.fedstream.aggregation.VectorAccumulate")
                                        .getDeclaredConstructor()
                                        .newInstance();
                why = null;
            } catch (ReflectiveOperationException | LinkageError e) {
                why = "scalar (vector kernel failed to load: " + e + ")";
            }
        }
        VECTOR_IF_LOADED = loaded;
        boolean off = "false".equalsIgnoreCase(System.getProperty("fedstream.simd", "true"));
        VECTOR = off ? null : loaded;
        if (VECTOR != null) {
            KERNEL_DESCRIPTION = VECTOR.describe();
        } else if (why == null) {
            KERNEL_DESCRIPTION = "scalar (-Dfedstream.simd=false)";
        } else {
            KERNEL_DESCRIPTION = why;
        }
    }

    /** Statistics of a tensor needed by validation, computed in one pass. */
    public record Stats(boolean finite, double maxAbs, double sumSquares) {}

    /**
     * Finiteness, largest magnitude and sum of squares of the elements, in one pass without a
     * branch per element. The magnitude is tracked as integer bits ({@code bits & 0x7FFFFFFF}): for
     * non-negative floats the integer order is the float order, and every pattern from {@code
     * +inf}'s up is infinite or NaN, so one integer maximum gives both the largest magnitude and
     * whether all are finite. The squares (exact in double: a float32 significand squared has 48
     * bits) are summed in four interleaved partial sums, element {@code i} into sum {@code i % 4},
     * combined as {@code (s0 + s1) + (s2 + s3)}: a fixed order, so the same bytes give the same
     * bits on every machine, and four times the throughput of one running sum (whose add latency
     * bounded this loop, the busiest in validation).
     */
    public static Stats stats(byte[] x, Kind kind) {
        int n = x.length / kind.bytes;
        boolean f32 = kind == Kind.FLOAT32;
        int max0 = 0;
        int max1 = 0;
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            int b0 = bits(x, f32, i);
            int b1 = bits(x, f32, i + 1);
            int b2 = bits(x, f32, i + 2);
            int b3 = bits(x, f32, i + 3);
            max0 = Math.max(max0, Math.max(b0 & 0x7FFFFFFF, b1 & 0x7FFFFFFF));
            max1 = Math.max(max1, Math.max(b2 & 0x7FFFFFFF, b3 & 0x7FFFFFFF));
            double v0 = Float.intBitsToFloat(b0);
            double v1 = Float.intBitsToFloat(b1);
            double v2 = Float.intBitsToFloat(b2);
            double v3 = Float.intBitsToFloat(b3);
            s0 += v0 * v0;
            s1 += v1 * v1;
            s2 += v2 * v2;
            s3 += v3 * v3;
        }
        for (int lane = 0; i < n; i++, lane++) {
            int b = bits(x, f32, i);
            max0 = Math.max(max0, b & 0x7FFFFFFF);
            double v = Float.intBitsToFloat(b);
            switch (lane) {
                case 0 -> s0 += v * v;
                case 1 -> s1 += v * v;
                default -> s2 += v * v;
            }
        }
        int maxBits = Math.max(max0, max1);
        return new Stats(
                maxBits < 0x7F800000, Float.intBitsToFloat(maxBits), (s0 + s1) + (s2 + s3));
    }

    /** The float32 bit pattern of element {@code i} (bfloat16 widened). */
    private static int bits(byte[] x, boolean f32, int i) {
        return f32 ? (int) I32.get(x, i << 2) : ((short) I16.get(x, i << 1) & 0xFFFF) << 16;
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
