package io.fedstream.aggregation;

import io.fedstream.schemas.BlockQuantization;
import io.fedstream.schemas.avro.DType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Kernels over little-endian tensor bytes (FLOAT32 or BFLOAT16, or the blockwise INT8 and NF4 of
 * {@link BlockQuantization}), read in place: no per-element allocation, no boxing, no intermediate
 * float[].
 *
 * <p>Blockwise bytes do not say how many elements they hold: {@link #accumulate} takes it from the
 * sums ({@code acc.length}), {@link #stats(byte[], Kind, int)} as an argument; the kernels assume
 * bytes validation accepted ({@link BlockQuantization#problem}) and check only the length.
 */
public final class LittleEndianFloats {
    private static final VarHandle F32 =
            MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I32 =
            MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle I16 =
            MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /**
     * Element type of the bytes: FLOAT32 (4 bytes), BFLOAT16 (2 bytes), or blockwise INT8 and NF4
     * ({@link #bytes} 0: their length depends on the block size). Names are the {@link DType}'s;
     * ordinals are stored in chunk state, so kinds are only ever appended.
     */
    public enum Kind {
        FLOAT32(4),
        BFLOAT16(2),
        INT8(0),
        NF4(0);

        /** Bytes per element; 0 for the blockwise kinds. */
        public final int bytes;

        Kind(int bytes) {
            this.bytes = bytes;
        }

        /** Whether this is a blockwise quantized kind. */
        public boolean blockwise() {
            return bytes == 0;
        }

        /** The record dtype of this kind. */
        public DType dtype() {
            return DType.valueOf(name());
        }

        /** The kind of a record dtype. */
        public static Kind of(DType dtype) {
            return valueOf(dtype.name());
        }
    }

    /** The NF4 code book, read by the kernels. */
    private static final float[] NF4 = BlockQuantization.nf4CodeBook();

    private LittleEndianFloats() {}

    /** Element {@code i} of FLOAT32 or BFLOAT16 {@code data}. */
    public static float get(byte[] data, Kind kind, int i) {
        if (kind == Kind.FLOAT32) {
            return (float) F32.get(data, i << 2);
        }
        if (kind == Kind.BFLOAT16) {
            return Float.intBitsToFloat(((short) I16.get(data, i << 1) & 0xFFFF) << 16);
        }
        throw new IllegalArgumentException(kind + " has no element size: decode it first");
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
        if (kind.blockwise()) {
            blockwise(acc, x, kind, w, from, to, VECTOR);
        } else if (VECTOR != null) {
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
        if (kind.blockwise()) {
            // per element the same additions in update order as the batch kernels
            for (int u = 0; u < xs.length; u++) {
                blockwise(acc, xs[u], kind, w[u], from, to, VECTOR);
            }
        } else if (VECTOR != null) {
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
        if (kind.blockwise()) {
            for (int u = 0; u < xs.length; u++) {
                blockwise(acc, xs[u], kind, w[u], from, to, null);
            }
            return;
        }
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
        if (kind.blockwise()) {
            blockwise(acc, x, kind, w, from, to, k);
        } else {
            k.accumulate(acc, x, kind == Kind.FLOAT32, w, from, to);
        }
    }

    /**
     * Which kernel {@link #accumulate} uses: "vector (…)" with the lane count, or "scalar" with the
     * reason.
     */
    public static String kernel() {
        return KERNEL_DESCRIPTION;
    }

    private static void scalar(double[] acc, byte[] x, Kind kind, double w, int from, int to) {
        if (kind.blockwise()) {
            blockwise(acc, x, kind, w, from, to, null);
        } else if (kind == Kind.FLOAT32) {
            for (int i = from; i < to; i++) {
                acc[i] += w * (float) F32.get(x, i << 2);
            }
        } else {
            for (int i = from; i < to; i++) {
                acc[i] += w * Float.intBitsToFloat(((short) I16.get(x, i << 1) & 0xFFFF) << 16);
            }
        }
    }

    /**
     * The blockwise kernel: acc[i] += w · (scale[b] · value(code[i])) for i in [from, to), where
     * {@code acc.length} is the chunk's element count. INT8 runs the kernel's vector loop over the
     * whole vectors of each block, if there is a kernel; NF4 looks each nibble up in the block's
     * table of the 16 products {@code w · (scale · NF4[k])}, the same doubles the per-element
     * formula gives, so every path adds the same bits.
     */
    private static void blockwise(
            double[] acc, byte[] x, Kind kind, double w, int from, int to, Kernel vector) {
        int n = acc.length;
        int block = BlockQuantization.blockSize(x);
        int codes = BlockQuantization.codesOffset(n, block);
        double[] table = kind == Kind.NF4 ? new double[16] : null;
        for (int b = from / block; b * block < to; b++) {
            int start = Math.max(from, b * block);
            int end = Math.min(to, (b + 1) * block);
            float scale = (float) F32.get(x, BlockQuantization.HEADER_BYTES + 4 * b);
            if (kind == Kind.INT8) {
                if (vector != null) {
                    vector.int8(acc, x, codes, scale, w, start, end);
                } else {
                    int8(acc, x, codes, scale, w, start, end);
                }
            } else {
                for (int k = 0; k < 16; k++) {
                    table[k] = w * (double) (scale * NF4[k]);
                }
                nf4(acc, x, codes, table, start, end);
            }
        }
    }

    /** The scalar INT8 loop over one block's [from, to). */
    static void int8(double[] acc, byte[] x, int codes, float scale, double w, int from, int to) {
        for (int i = from; i < to; i++) {
            acc[i] += w * (double) (scale * (float) x[codes + i]);
        }
    }

    /** The NF4 loop over one block's [from, to): two elements per byte after an odd start. */
    private static void nf4(double[] acc, byte[] x, int codes, double[] table, int from, int to) {
        int i = from;
        if ((i & 1) == 1 && i < to) {
            acc[i] += table[(x[codes + (i >> 1)] >> 4) & 0xF];
            i++;
        }
        for (; i + 1 < to; i += 2) {
            int b = x[codes + (i >> 1)];
            acc[i] += table[b & 0xF];
            acc[i + 1] += table[(b >> 4) & 0xF];
        }
        if (i < to) {
            acc[i] += table[x[codes + (i >> 1)] & 0xF];
        }
    }

    private static void checkSize(double[] acc, byte[] x, Kind kind) {
        if (x.length != expectedBytes(acc.length, x, kind)) {
            throw new IllegalArgumentException(
                    "tensor has "
                            + x.length
                            + " bytes, expected "
                            + expectedBytes(acc.length, x, kind));
        }
    }

    /**
     * Bytes of {@code n} elements of the kind; for the blockwise kinds with the block size {@code
     * x} declares (-1 if it declares none allowed).
     */
    public static long expectedBytes(int n, byte[] x, Kind kind) {
        if (!kind.blockwise()) {
            return (long) n * kind.bytes;
        }
        if (x.length < BlockQuantization.HEADER_BYTES) {
            return -1;
        }
        int block = BlockQuantization.blockSize(x);
        try {
            BlockQuantization.checkBlockSize(block);
        } catch (IllegalArgumentException e) {
            return -1;
        }
        return BlockQuantization.encodedLength(kind.dtype(), n, block);
    }

    private static void checkRange(double[] acc, byte[] x, Kind kind, int from, int to) {
        if (kind.blockwise() && x.length != expectedBytes(acc.length, x, kind)) {
            throw new IllegalArgumentException(
                    kind
                            + " bytes of "
                            + x.length
                            + " are not "
                            + acc.length
                            + " elements in blocks (expected "
                            + expectedBytes(acc.length, x, kind)
                            + ")");
        }
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

        /** INT8 over [from, to) of one block: acc[i] += w · (scale · code[i]). */
        void int8(double[] acc, byte[] x, int codes, float scale, double w, int from, int to);

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
        if (kind.blockwise()) {
            throw new IllegalArgumentException(kind + " bytes: stats(x, kind, elements)");
        }
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

    /**
     * {@link #stats(byte[], Kind)} of {@code n} elements of any kind; the blockwise ones decoded
     * element by element (valid bytes only: {@link BlockQuantization#problem} first), their squares
     * summed in the same four interleaved sums.
     */
    public static Stats stats(byte[] x, Kind kind, int n) {
        if (!kind.blockwise()) {
            return stats(x, kind);
        }
        DType dtype = kind.dtype();
        int block = BlockQuantization.blockSize(x);
        int codes = BlockQuantization.codesOffset(n, block);
        double[] s = new double[4];
        float max = 0;
        for (int i = 0; i < n; i++) {
            float scale = (float) F32.get(x, BlockQuantization.HEADER_BYTES + 4 * (i / block));
            int code =
                    kind == Kind.INT8
                            ? x[codes + i]
                            : ((i & 1) == 0 ? x[codes + (i >> 1)] : x[codes + (i >> 1)] >> 4) & 0xF;
            float v = scale * BlockQuantization.codeValue(dtype, code); // INT8: may overflow
            max = Math.max(max, Math.abs(v));
            s[i & 3] += (double) v * v;
        }
        return new Stats(Float.isFinite(max), max, (s[0] + s[1]) + (s[2] + s[3]));
    }

    /** The float32 bit pattern of element {@code i} (bfloat16 widened). */
    private static int bits(byte[] x, boolean f32, int i) {
        return f32 ? (int) I32.get(x, i << 2) : ((short) I16.get(x, i << 1) & 0xFFFF) << 16;
    }

    /** The elements of FLOAT32 or BFLOAT16 bytes as a new float[]. */
    public static float[] toFloats(byte[] x, Kind kind) {
        if (kind.blockwise()) {
            throw new IllegalArgumentException(kind + ": use toFloats(x, kind, elements)");
        }
        float[] out = new float[x.length / kind.bytes];
        for (int i = 0; i < out.length; i++) {
            out[i] = get(x, kind, i);
        }
        return out;
    }

    /**
     * The {@code n} elements of bytes of any kind as a new float[]; blockwise ones decoded exactly
     * as the kernel reads them.
     */
    public static float[] toFloats(byte[] x, Kind kind, int n) {
        if (!kind.blockwise()) {
            return toFloats(x, kind);
        }
        float[] out = new float[n];
        BlockQuantization.decode(x, kind.dtype(), n, out, 0);
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
