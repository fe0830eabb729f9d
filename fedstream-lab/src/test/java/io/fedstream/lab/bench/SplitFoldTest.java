package io.fedstream.lab.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.LittleEndianFloats.Kind;
import io.fedstream.aggregation.WeightedAccumulator;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SplitFoldTest {

    @Test
    void theLoraLayoutSplitsIntoTwoEqualHalves() {
        int[] sizes = new int[128];
        Arrays.fill(sizes, 8 * 4096);

        int[] bounds = SplitFold.bounds(sizes, 2);

        assertThat(bounds).containsExactly(0, 64, 128);
    }

    @Test
    void unevenTensorsAreSplitByElementsAndEveryPartGetsOne() {
        int[] bounds = SplitFold.bounds(new int[] {100, 1, 1, 1, 97}, 2);
        int[] many = SplitFold.bounds(new int[] {1000, 1, 1}, 3);

        assertThat(bounds).containsExactly(0, 1, 5);
        assertThat(many).containsExactly(0, 1, 2, 3);
        assertThatThrownBy(() -> SplitFold.bounds(new int[] {5}, 2))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void twoThreadsGiveTheSameBitsAsOneAccumulator() throws Exception {
        int[] sizes = {37, 1000, 5, 513, 64, 2048, 7};
        SplittableRandom rnd = new SplittableRandom(3);
        int k = 9;
        byte[][][] updates = new byte[k][sizes.length][];
        double[] w = new double[k];
        for (int i = 0; i < k; i++) {
            w[i] = 1 + rnd.nextInt(999);
            for (int t = 0; t < sizes.length; t++) {
                float[] v = new float[sizes[t]];
                for (int j = 0; j < v.length; j++) {
                    v[j] = (float) rnd.nextGaussian();
                }
                updates[i][t] = LittleEndianFloats.fromFloats(v);
            }
        }
        float[][] base = new float[sizes.length][];
        Kind[] kinds = new Kind[sizes.length];
        for (int t = 0; t < sizes.length; t++) {
            base[t] = new float[sizes[t]];
            Arrays.fill(base[t], 0.25f);
            kinds[t] = Kind.FLOAT32;
        }
        WeightedAccumulator one = new WeightedAccumulator(sizes);
        for (int i = 0; i < k; i++) {
            one.add(updates[i], kinds, w[i]);
        }
        float[][] expected = one.applyTo(base, 1.0);

        float[][] out;
        double[][] sums;
        try (SplitFold split = new SplitFold(sizes, 2)) {
            split.round(i -> updates[0], 1, kinds, new double[] {1}, base); // a previous round
            out = split.round(i -> updates[i], k, kinds, w, base);
            sums = split.sums();
        }

        assertThat(sums).isDeepEqualTo(one.sums());
        assertThat(out).isDeepEqualTo(expected);
        assertThat(out[0][0]).isNotEqualTo(0.25f); // the updates moved the base
    }
}
