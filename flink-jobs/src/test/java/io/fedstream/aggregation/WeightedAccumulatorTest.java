package io.fedstream.aggregation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.aggregation.LittleEndianFloats.Kind;
import org.junit.jupiter.api.Test;

class WeightedAccumulatorTest {
    private static final Kind[] F32 = {Kind.FLOAT32};

    private static byte[][] delta(float... v) {
        return new byte[][] {LittleEndianFloats.fromFloats(v)};
    }

    @Test
    void appliesTheWeightedMeanOfTheDeltasScaledByTheServerRate() {
        WeightedAccumulator acc = new WeightedAccumulator(new int[] {3});
        acc.add(delta(1, 2, 3), F32, 1);
        acc.add(delta(4, 5, 6), F32, 3);

        float[][] out = acc.applyTo(new float[][] {{10, 10, 10}}, 0.5);

        // mean = (1*[1,2,3] + 3*[4,5,6]) / 4 = [3.25, 4.25, 5.25]; new = 10 + 0.5 * mean
        assertThat(out[0]).containsExactly(11.625f, 12.125f, 12.625f);
        assertThat(acc.count()).isEqualTo(2);
        assertThat(acc.totalWeight()).isEqualTo(4.0);
    }

    @Test
    void addAllGivesTheSameBitsAsAddingOneAfterTheOther() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        int[] sizes = {37, 5};
        Kind[] kinds = {Kind.FLOAT32, Kind.FLOAT32};
        java.util.List<byte[][]> deltas = new java.util.ArrayList<>();
        double[] w = new double[5];
        for (int u = 0; u < w.length; u++) {
            float[] a = new float[sizes[0]];
            float[] b = new float[sizes[1]];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) rnd.nextGaussian();
            }
            deltas.add(
                    new byte[][] {
                        LittleEndianFloats.fromFloats(a), LittleEndianFloats.fromFloats(b)
                    });
            w[u] = 1 + rnd.nextInt(100) / 7.0;
        }
        WeightedAccumulator one = new WeightedAccumulator(sizes);
        for (int u = 0; u < w.length; u++) {
            one.add(deltas.get(u), kinds, w[u]);
        }
        WeightedAccumulator all = new WeightedAccumulator(sizes);
        all.add(deltas.get(0), kinds, w[0]);
        all.addAll(deltas.subList(1, 5), kinds, java.util.Arrays.copyOfRange(w, 1, 5));

        assertThat(all.count()).isEqualTo(one.count());
        assertThat(all.totalWeight()).isEqualTo(one.totalWeight());
        for (int t = 0; t < sizes.length; t++) {
            for (int i = 0; i < sizes[t]; i++) {
                assertThat(Double.doubleToRawLongBits(all.sums()[t][i]))
                        .isEqualTo(Double.doubleToRawLongBits(one.sums()[t][i]));
            }
        }
    }

    @Test
    void withEqualWeightsAndRateOneItIsPlainFedAvg() {
        WeightedAccumulator acc = new WeightedAccumulator(new int[] {2});
        acc.add(delta(2, -2), F32, 7);
        acc.add(delta(4, 0), F32, 7);

        assertThat(acc.applyTo(new float[][] {{1, 1}}, 1.0)[0]).containsExactly(4f, 0f);
    }

    @Test
    void readsBfloat16Exactly() {
        // 1.5 in bfloat16 is 0x3FC0, little-endian C0 3F
        byte[][] bf16 = {{(byte) 0xC0, 0x3F, (byte) 0xC0, (byte) 0xBF}};
        WeightedAccumulator acc = new WeightedAccumulator(new int[] {2});
        acc.add(bf16, new Kind[] {Kind.BFLOAT16}, 2);

        assertThat(acc.sums()[0]).containsExactly(3.0, -3.0);
    }

    @Test
    void emptyRoundLeavesTheModelUnchanged() {
        WeightedAccumulator acc = new WeightedAccumulator(new int[] {2});

        assertThat(acc.applyTo(new float[][] {{1, 2}}, 1.0)[0]).containsExactly(1f, 2f);
    }

    @Test
    void rejectsNonPositiveWeightsAndMisshapenDeltas() {
        WeightedAccumulator acc = new WeightedAccumulator(new int[] {2});

        assertThatThrownBy(() -> acc.add(delta(1, 2), F32, 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> acc.add(delta(1, 2, 3), F32, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(acc.count()).isZero();
    }

    @Test
    void statsFindNonFiniteValuesAndTheNorm() {
        assertThat(
                        LittleEndianFloats.stats(
                                LittleEndianFloats.fromFloats(new float[] {3, -4}), Kind.FLOAT32))
                .isEqualTo(new LittleEndianFloats.Stats(true, 4.0, 25.0));
        assertThat(
                        LittleEndianFloats.stats(
                                        LittleEndianFloats.fromFloats(new float[] {1, Float.NaN}),
                                        Kind.FLOAT32)
                                .finite())
                .isFalse();
        assertThat(
                        LittleEndianFloats.stats(
                                        LittleEndianFloats.fromFloats(
                                                new float[] {Float.NEGATIVE_INFINITY}),
                                        Kind.FLOAT32)
                                .finite())
                .isFalse();
    }
}
