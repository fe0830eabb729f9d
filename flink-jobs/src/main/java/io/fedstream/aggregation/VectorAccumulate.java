package io.fedstream.aggregation;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The accumulate kernel with the JDK's Vector API (incubating in JDK 17): reads the little-endian
 * bytes straight from the byte[] ({@code fromByteArray}), widens the lanes to double and computes
 * {@code acc + w * x} with a separate multiply and add, the same two roundings as the scalar loop,
 * so the result is bit-identical to it. The tail (fewer elements than a vector) runs the scalar
 * loop.
 *
 * <p>Only {@link LittleEndianFloats} loads this class, by name, and only when the module {@code
 * jdk.incubator.vector} is in the boot layer: without {@code --add-modules jdk.incubator.vector} it
 * is never loaded.
 */
final class VectorAccumulate implements LittleEndianFloats.Kernel {
    /** Double lanes per step: the preferred (widest) shape, e.g. 8 with AVX-512. */
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

    private static final int LANES = D.length();

    /** As many floats as D has doubles: half D's bit size. */
    private static final VectorSpecies<Float> F =
            FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(D.vectorBitSize() / 2));

    /** As many shorts (bfloat16 bits) as D has doubles: a quarter of D's bit size. */
    private static final VectorSpecies<Short> S =
            ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(D.vectorBitSize() / 4));

    private static final VectorSpecies<Integer> I =
            IntVector.SPECIES_PREFERRED.withShape(F.vectorShape());

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Eight INT8 codes per load, the smallest byte vector; widened in parts of D's length. */
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;

    private static final int PARTS = Math.max(1, B.length() / LANES);

    public VectorAccumulate() {
        if (F.length() != LANES || S.length() != LANES || I.length() != LANES) {
            throw new IllegalStateException("unexpected vector shapes " + D + " " + F + " " + S);
        }
    }

    /**
     * INT8: eight codes per load, each part of {@link #LANES} widened to int, converted to float
     * and multiplied by the block's scale in float32 (the same rounding as the scalar {@code scale
     * · (float) code}), then widened to double, times w, added.
     */
    @Override
    public void int8(double[] acc, byte[] x, int codes, float scale, double w, int from, int to) {
        int step = Math.max(B.length(), LANES);
        int i = from;
        int bound = from + (to - from) / step * step;
        if (LANES <= B.length()) {
            for (; i < bound; i += step) {
                ByteVector b = ByteVector.fromArray(B, x, codes + i);
                for (int p = 0; p < PARTS; p++) {
                    FloatVector f =
                            ((IntVector) b.convertShape(VectorOperators.B2I, I, p))
                                    .convert(VectorOperators.I2F, 0)
                                    .reinterpretAsFloats()
                                    .mul(scale);
                    DoubleVector v = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 0);
                    int at = i + p * LANES;
                    DoubleVector.fromArray(D, acc, at).add(v.mul(w)).intoArray(acc, at);
                }
            }
        }
        LittleEndianFloats.int8(acc, x, codes, scale, w, i, to);
    }

    @Override
    public String describe() {
        return "vector (" + LANES + " double lanes, " + D.vectorBitSize() + "-bit)";
    }

    @Override
    public void accumulate(double[] acc, byte[] x, boolean float32, double w, int from, int to) {
        if (float32) {
            float32(acc, x, w, from, to);
        } else {
            bfloat16(acc, x, w, from, to);
        }
    }

    @Override
    public void accumulateAll(
            double[] acc, byte[][] xs, boolean float32, double[] w, int from, int to) {
        // groups of 4, then 2, then 1 updates, one pass over the sums each; per element the
        // additions stay in update order. Fixed group sizes: an inner loop over a variable number
        // of updates measured 3-4x slower on JDK 17 (C2 does not keep the vectors in registers).
        int u = 0;
        int m = xs.length;
        for (; u + 4 <= m; u += 4) {
            four(acc, xs[u], xs[u + 1], xs[u + 2], xs[u + 3], float32, w, u, from, to);
        }
        for (; u + 2 <= m; u += 2) {
            two(acc, xs[u], xs[u + 1], float32, w[u], w[u + 1], from, to);
        }
        if (u < m) {
            accumulate(acc, xs[u], float32, w[u], from, to);
        }
    }

    private static void four(
            double[] acc,
            byte[] x0,
            byte[] x1,
            byte[] x2,
            byte[] x3,
            boolean float32,
            double[] w,
            int u,
            int from,
            int to) {
        double w0 = w[u];
        double w1 = w[u + 1];
        double w2 = w[u + 2];
        double w3 = w[u + 3];
        int i = from;
        int bound = from + D.loopBound(to - from);
        if (float32) {
            for (; i < bound; i += LANES) {
                DoubleVector a = DoubleVector.fromArray(D, acc, i);
                a = a.add(widenFloat32(x0, i).mul(w0));
                a = a.add(widenFloat32(x1, i).mul(w1));
                a = a.add(widenFloat32(x2, i).mul(w2));
                a = a.add(widenFloat32(x3, i).mul(w3));
                a.intoArray(acc, i);
            }
        } else {
            for (; i < bound; i += LANES) {
                DoubleVector a = DoubleVector.fromArray(D, acc, i);
                a = a.add(widenBfloat16(x0, i).mul(w0));
                a = a.add(widenBfloat16(x1, i).mul(w1));
                a = a.add(widenBfloat16(x2, i).mul(w2));
                a = a.add(widenBfloat16(x3, i).mul(w3));
                a.intoArray(acc, i);
            }
        }
        if (i < to) {
            LittleEndianFloats.scalarAll(
                    acc,
                    new byte[][] {x0, x1, x2, x3},
                    kind(float32),
                    new double[] {w0, w1, w2, w3},
                    i,
                    to);
        }
    }

    private static void two(
            double[] acc,
            byte[] x0,
            byte[] x1,
            boolean float32,
            double w0,
            double w1,
            int from,
            int to) {
        int i = from;
        int bound = from + D.loopBound(to - from);
        if (float32) {
            for (; i < bound; i += LANES) {
                DoubleVector a = DoubleVector.fromArray(D, acc, i);
                a = a.add(widenFloat32(x0, i).mul(w0));
                a = a.add(widenFloat32(x1, i).mul(w1));
                a.intoArray(acc, i);
            }
        } else {
            for (; i < bound; i += LANES) {
                DoubleVector a = DoubleVector.fromArray(D, acc, i);
                a = a.add(widenBfloat16(x0, i).mul(w0));
                a = a.add(widenBfloat16(x1, i).mul(w1));
                a.intoArray(acc, i);
            }
        }
        if (i < to) {
            LittleEndianFloats.scalarAll(
                    acc, new byte[][] {x0, x1}, kind(float32), new double[] {w0, w1}, i, to);
        }
    }

    private static LittleEndianFloats.Kind kind(boolean float32) {
        return float32 ? LittleEndianFloats.Kind.FLOAT32 : LittleEndianFloats.Kind.BFLOAT16;
    }

    private static DoubleVector widenFloat32(byte[] x, int i) {
        return (DoubleVector)
                FloatVector.fromByteArray(F, x, i << 2, LE).convertShape(VectorOperators.F2D, D, 0);
    }

    private static DoubleVector widenBfloat16(byte[] x, int i) {
        FloatVector f =
                ((IntVector)
                                ShortVector.fromByteArray(S, x, i << 1, LE)
                                        .convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats();
        return (DoubleVector) f.convertShape(VectorOperators.F2D, D, 0);
    }

    private static void float32(double[] acc, byte[] x, double w, int from, int to) {
        int i = from;
        int bound = from + D.loopBound(to - from);
        for (; i < bound; i += LANES) {
            DoubleVector v =
                    (DoubleVector)
                            FloatVector.fromByteArray(F, x, i << 2, LE)
                                    .convertShape(VectorOperators.F2D, D, 0);
            DoubleVector a = DoubleVector.fromArray(D, acc, i);
            a.add(v.mul(w)).intoArray(acc, i);
        }
        for (; i < to; i++) {
            acc[i] += w * LittleEndianFloats.get(x, LittleEndianFloats.Kind.FLOAT32, i);
        }
    }

    private static void bfloat16(double[] acc, byte[] x, double w, int from, int to) {
        int i = from;
        int bound = from + D.loopBound(to - from);
        for (; i < bound; i += LANES) {
            // bfloat16 is the upper half of a float32: widen (sign extension is shifted out).
            FloatVector f =
                    ((IntVector)
                                    ShortVector.fromByteArray(S, x, i << 1, LE)
                                            .convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 16)
                            .reinterpretAsFloats();
            DoubleVector v = (DoubleVector) f.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector a = DoubleVector.fromArray(D, acc, i);
            a.add(v.mul(w)).intoArray(acc, i);
        }
        for (; i < to; i++) {
            acc[i] += w * LittleEndianFloats.get(x, LittleEndianFloats.Kind.BFLOAT16, i);
        }
    }
}
