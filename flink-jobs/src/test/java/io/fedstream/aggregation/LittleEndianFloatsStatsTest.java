package io.fedstream.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.fedstream.aggregation.LittleEndianFloats.Kind;
import io.fedstream.aggregation.LittleEndianFloats.Stats;
import java.math.BigDecimal;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LittleEndianFloatsStatsTest {
    private static final int[] LENGTHS = {0, 1, 2, 3, 4, 5, 7, 8, 9, 1000, 131_075};

    /** Little-endian bytes of v in the kind (bfloat16: the upper half of each float32). */
    private static byte[] bytes(float[] v, Kind kind) {
        byte[] f32 = LittleEndianFloats.fromFloats(v);
        if (kind == Kind.FLOAT32) {
            return f32;
        }
        byte[] b = new byte[v.length * 2];
        for (int i = 0; i < v.length; i++) {
            b[2 * i] = f32[4 * i + 2];
            b[2 * i + 1] = f32[4 * i + 3];
        }
        return b;
    }

    private static float[] values(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3));
        }
        if (n > 3) {
            v[0] = -0.0f;
            v[1] = Float.MIN_VALUE;
            v[2] = -Float.MAX_VALUE / 1e20f;
        }
        return v;
    }

    @Test
    void largestMagnitudeIsExactAndTheSumOfSquaresFollowsTheDocumentedOrder() {
        for (Kind kind :
                new Kind[] {Kind.FLOAT32, Kind.BFLOAT16}) { // blockwise: BlockwiseAccumulateTest
            for (int n : LENGTHS) {
                byte[] x = bytes(values(n, n), kind);
                double maxAbs = 0;
                double[] lanes = new double[4];
                BigDecimal exact = BigDecimal.ZERO;
                for (int i = 0; i < n; i++) {
                    double v = LittleEndianFloats.get(x, kind, i);
                    maxAbs = Math.max(maxAbs, Math.abs(v));
                    lanes[i % 4] += v * v;
                    exact = exact.add(new BigDecimal(v * v));
                }

                Stats s = LittleEndianFloats.stats(x, kind);

                assertThat(s.finite()).isTrue();
                assertThat(s.maxAbs()).isEqualTo(maxAbs);
                assertThat(s.sumSquares()).isEqualTo((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]));
                assertThat(s.sumSquares())
                        .isCloseTo(exact.doubleValue(), within(1e-12 * exact.doubleValue()));
            }
        }
    }

    @Test
    void anyNonFiniteElementAnywhereMakesTheTensorNonFinite() {
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        for (Kind kind :
                new Kind[] {Kind.FLOAT32, Kind.BFLOAT16}) { // blockwise: BlockwiseAccumulateTest
            for (int n : new int[] {1, 3, 4, 9, 1000}) {
                for (int at : new int[] {0, n / 2, n - 1}) {
                    for (float b : bad) {
                        float[] v = values(n, at);
                        v[at] = b;

                        Stats s = LittleEndianFloats.stats(bytes(v, kind), kind);

                        assertThat(s.finite()).as("%s at %d of %d, %s", b, at, n, kind).isFalse();
                    }
                }
            }
        }
    }

    @Test
    void theLargestFiniteValueIsFinite() {
        Stats s =
                LittleEndianFloats.stats(
                        bytes(new float[] {1, -Float.MAX_VALUE, 2, 3, 4}, Kind.FLOAT32),
                        Kind.FLOAT32);

        assertThat(s.finite()).isTrue();
        assertThat(s.maxAbs()).isEqualTo(Float.MAX_VALUE);
    }
}
