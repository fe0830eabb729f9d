package io.fedstream.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.aggregation.LittleEndianFloats.Kind;
import io.fedstream.schemas.BlockQuantization;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The blockwise kernels read INT8 and NF4 chunks in place and add, bit for bit, what the float32
 * kernel adds for the exact decoding (the audit's path): scalar, vector, dispatched and batched
 * alike, over whole chunks and unaligned ranges.
 */
class BlockwiseAccumulateTest {

    @ParameterizedTest
    @EnumSource(
            value = Kind.class,
            names = {"INT8", "NF4"})
    void addsWhatTheFloat32KernelAddsForTheDecodedValues(Kind kind) {
        SplittableRandom rnd = new SplittableRandom(19);
        int[] sizes = {0, 1, 7, 63, 64, 65, 200, 1000, 4099};
        for (int block : new int[] {64, 80, 256}) {
            for (int n : sizes) {
                byte[][] xs = new byte[3][];
                byte[][] decoded = new byte[3][];
                for (int u = 0; u < xs.length; u++) {
                    float[] v = values(rnd, n, block);
                    xs[u] = BlockQuantization.encode(kind.dtype(), v, 0, n, block);
                    assertThat(BlockQuantization.problem(xs[u], kind.dtype(), n, block)).isNull();
                    decoded[u] =
                            LittleEndianFloats.fromFloats(
                                    LittleEndianFloats.toFloats(xs[u], kind, n));
                }
                double[] w = {0.7, 1234.5, 3.1e-5};
                double[] reference = start(n);
                double[] scalar = start(n);
                double[] vector = start(n);
                double[] dispatched = start(n);
                for (int u = 0; u < xs.length; u++) {
                    LittleEndianFloats.accumulateScalar(
                            reference, decoded[u], Kind.FLOAT32, w[u], 0, n);
                    LittleEndianFloats.accumulateScalar(scalar, xs[u], kind, w[u], 0, n);
                    LittleEndianFloats.accumulateVector(vector, xs[u], kind, w[u], 0, n);
                    LittleEndianFloats.accumulate(dispatched, xs[u], kind, w[u]);
                }
                String what = kind + " block " + block + " n=" + n;
                assertBits(scalar, reference, what + " scalar");
                assertBits(vector, reference, what + " vector");
                assertBits(dispatched, reference, what + " dispatched");
                double[] all = start(n);
                double[] allScalar = start(n);
                LittleEndianFloats.accumulateAll(all, xs, kind, w, 0, n);
                LittleEndianFloats.accumulateAllScalar(allScalar, xs, kind, w, 0, n);
                assertBits(all, reference, what + " batch");
                assertBits(allScalar, reference, what + " batch scalar");
                if (n > 4) {
                    double[] r = start(n);
                    double[] s = start(n);
                    double[] v = start(n);
                    LittleEndianFloats.accumulateScalar(r, decoded[0], Kind.FLOAT32, 0.3, 3, n - 2);
                    LittleEndianFloats.accumulateScalar(s, xs[0], kind, 0.3, 3, n - 2);
                    LittleEndianFloats.accumulateVector(v, xs[0], kind, 0.3, 3, n - 2);
                    assertBits(s, r, what + " range scalar");
                    assertBits(v, r, what + " range vector");
                }
                LittleEndianFloats.Stats stats = LittleEndianFloats.stats(xs[1], kind, n);
                LittleEndianFloats.Stats expected =
                        LittleEndianFloats.stats(decoded[1], Kind.FLOAT32);
                assertThat(stats).as(what + " stats").isEqualTo(expected);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = Kind.class,
            names = {"INT8", "NF4"})
    void refusesBytesOfAnotherLength(Kind kind) {
        byte[] x = BlockQuantization.encode(kind.dtype(), new float[100], 0, 100, 64);
        assertThatThrownBy(() -> LittleEndianFloats.accumulate(new double[101], x, kind, 1.0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bytes, expected");
        assertThatThrownBy(() -> LittleEndianFloats.get(x, kind, 0))
                .hasMessageContaining("decode it first");
    }

    @org.junit.jupiter.api.Test
    void anInt8ScaleNearTheFloatLimitDecodesToInfinityAndIsNotFinite() {
        float[] v = new float[64];
        v[0] = Float.MAX_VALUE;
        byte[] x = BlockQuantization.encode(Kind.INT8.dtype(), v, 0, 64, 64);
        // code 127 (element 0) under a valid, finite scale whose product overflows float32
        java.nio.ByteBuffer.wrap(x).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(4, 3e38f);
        assertThat(BlockQuantization.problem(x, Kind.INT8.dtype(), 64, 64)).isNull();
        assertThat(LittleEndianFloats.stats(x, Kind.INT8, 64).finite()).isFalse();
    }

    /** Gaussian values of a few magnitudes per block, some blocks all zero. */
    private static float[] values(SplittableRandom rnd, int n, int block) {
        float[] v = new float[n];
        for (int b = 0; b * block < n; b++) {
            double scale = rnd.nextInt(5) == 0 ? 0 : Math.pow(10, -rnd.nextInt(1, 8));
            for (int i = b * block; i < Math.min(n, (b + 1) * block); i++) {
                v[i] = (float) (rnd.nextGaussian() * scale);
            }
        }
        return v;
    }

    private static double[] start(int n) {
        SplittableRandom rnd = new SplittableRandom(n);
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = i % 3 == 0 ? -0.0 : rnd.nextGaussian();
        }
        return a;
    }

    private static void assertBits(double[] actual, double[] expected, String what) {
        for (int i = 0; i < actual.length; i++) {
            assertThat(Double.doubleToRawLongBits(actual[i]))
                    .as("%s element %d: %s vs %s", what, i, actual[i], expected[i])
                    .isEqualTo(Double.doubleToRawLongBits(expected[i]));
        }
    }
}
