package io.fedstream.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.LittleEndianFloats.Kind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The Vector API kernel gives the scalar loop's result bit for bit (no timing here). */
class LittleEndianFloatsVectorTest {

    @Test
    void vectorKernelIsLoadedInTests() {
        // test.jvm.args adds jdk.incubator.vector; without it the scalar loop is used.
        assertThat(LittleEndianFloats.kernel()).startsWith("vector");
    }

    @Test
    void float32MatchesScalarBitForBit() {
        check(Kind.FLOAT32);
    }

    @Test
    void bfloat16MatchesScalarBitForBit() {
        check(Kind.BFLOAT16);
    }

    private static void check(Kind kind) {
        SplittableRandom rnd = new SplittableRandom(42);
        // lengths around lane counts (2..16) and a larger one, so tails of every size occur
        int[] sizes = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 1000, 4099};
        for (int n : sizes) {
            byte[][] updates = new byte[4][];
            for (int u = 0; u < updates.length; u++) {
                updates[u] = randomBytes(rnd, n, kind);
            }
            double[] scalar = new double[n];
            double[] vector = new double[n];
            double[] dispatched = new double[n];
            for (int i = 0; i < n; i++) {
                scalar[i] = vector[i] = dispatched[i] = special(rnd, i);
            }
            double[] weights = {1, 0.1, 3.7e-5, 1234.5678};
            for (int u = 0; u < updates.length; u++) {
                LittleEndianFloats.accumulateScalar(scalar, updates[u], kind, weights[u], 0, n);
                LittleEndianFloats.accumulateVector(vector, updates[u], kind, weights[u], 0, n);
                LittleEndianFloats.accumulate(dispatched, updates[u], kind, weights[u]);
            }
            assertBits(vector, scalar, kind + " n=" + n);
            // the batch kernels, for 1..7 updates (groups of 4, 2, 1): same bits as one update
            // after the other
            for (int m = 1; m <= 7; m++) {
                byte[][] xs = new byte[m][];
                double[] ws = new double[m];
                for (int u = 0; u < m; u++) {
                    xs[u] = updates[u % updates.length];
                    ws[u] = weights[u % weights.length] * (u + 1);
                }
                double[] sequential = new double[n];
                for (int i = 0; i < n; i++) {
                    sequential[i] = special(new SplittableRandom(i), i);
                }
                double[] allScalar = sequential.clone();
                double[] allVector = sequential.clone();
                double[] allDispatched = sequential.clone();
                for (int u = 0; u < m; u++) {
                    LittleEndianFloats.accumulateScalar(sequential, xs[u], kind, ws[u], 0, n);
                }
                LittleEndianFloats.accumulateAllScalar(allScalar, xs, kind, ws, 0, n);
                LittleEndianFloats.accumulateAllVector(allVector, xs, kind, ws, 0, n);
                LittleEndianFloats.accumulateAll(allDispatched, xs, kind, ws, 0, n);
                String what = kind + " n=" + n + " batch of " + m;
                assertBits(allScalar, sequential, what + " scalar");
                assertBits(allVector, sequential, what + " vector");
                assertBits(allDispatched, sequential, what + " dispatched");
            }
            assertBits(dispatched, scalar, kind + " n=" + n + " (dispatched)");
            // an unaligned sub-range [from, to): the part outside stays untouched
            if (n > 4) {
                double[] s = scalar.clone();
                double[] v = scalar.clone();
                LittleEndianFloats.accumulateScalar(s, updates[0], kind, 0.3, 1, n - 2);
                LittleEndianFloats.accumulateVector(v, updates[0], kind, 0.3, 1, n - 2);
                assertBits(v, s, kind + " n=" + n + " range");
            }
        }
    }

    /** Random finite values mixed with negative zero, subnormals, tiny and huge values. */
    private static byte[] randomBytes(SplittableRandom rnd, int n, Kind kind) {
        ByteBuffer b = ByteBuffer.allocate(n * kind.bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            float f =
                    switch (rnd.nextInt(8)) {
                        case 0 -> -0.0f;
                        case 1 -> Float.MIN_VALUE * rnd.nextInt(1, 1000); // subnormal
                        case 2 -> -Float.MIN_NORMAL * (float) rnd.nextDouble(); // subnormal
                        case 3 -> (float) (rnd.nextDouble() * 3e38);
                        case 4 -> 0.0f;
                        default -> (float) rnd.nextGaussian() * 1e-3f;
                    };
            if (kind == Kind.FLOAT32) {
                b.putFloat(f);
            } else {
                b.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
            }
        }
        return b.array();
    }

    private static double special(SplittableRandom rnd, int i) {
        return switch (i % 5) {
            case 0 -> -0.0;
            case 1 -> Double.MIN_VALUE;
            case 2 -> rnd.nextGaussian();
            default -> 0.0;
        };
    }

    private static void assertBits(double[] actual, double[] expected, String what) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < actual.length; i++) {
            assertThat(Double.doubleToRawLongBits(actual[i]))
                    .as("%s element %d: %s vs %s", what, i, actual[i], expected[i])
                    .isEqualTo(Double.doubleToRawLongBits(expected[i]));
        }
    }
}
