package io.fedstream.aggregation.robust;

import static io.fedstream.aggregation.robust.Fixtures.bits;
import static io.fedstream.aggregation.robust.Fixtures.u;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.LittleEndianFloats.Kind;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RobustRulesTest {

    private static List<RobustRule> allRules() {
        return List.of(
                RobustRules.of("fedavg", Map.of()),
                RobustRules.of("norm-clipping", Map.of("maxNorm", "3.5")),
                RobustRules.of("median", null),
                RobustRules.of("trimmed-mean", Map.of("beta", "0.2")),
                RobustRules.of("multi-krum", Map.of("f", "3", "m", "6")));
    }

    @Test
    void buildsEveryRuleFromItsConfiguration() {
        List<RobustRule> rules = allRules();

        assertThat(rules)
                .extracting(RobustRule::describe)
                .containsExactly(
                        "fedavg",
                        "norm-clipping(maxNorm=3.5)",
                        "median",
                        "trimmed-mean(beta=0.2)",
                        "multi-krum(f=3,m=6)");
        assertThat(rules)
                .extracting(RobustRule::needsAllUpdates)
                .containsExactly(false, false, true, true, true);
        assertThat(rules.get(4).parameters())
                .containsExactly(Map.entry("f", "3"), Map.entry("m", "6"));
        assertThat(RobustRules.of(" Trimmed-Mean ", Map.of("beta", " 0.25 ")))
                .isInstanceOf(TrimmedMean.class);
    }

    @Test
    void parsesBackWhatItDescribes() {
        for (RobustRule rule : allRules()) {
            RobustRule back = RobustRules.parse(rule.describe());

            assertThat(back.getClass()).isEqualTo(rule.getClass());
            assertThat(back.parameters()).isEqualTo(rule.parameters());
        }
    }

    @Test
    void explainsBadConfiguration() {
        assertThatThrownBy(() -> RobustRules.of("krum", Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "unknown aggregation rule 'krum' (fedavg, norm-clipping, median,"
                                + " trimmed-mean, multi-krum)");
        assertThatThrownBy(() -> RobustRules.of("trimmed-mean", Map.of()))
                .hasMessage("trimmed-mean needs parameter 'beta'");
        assertThatThrownBy(() -> RobustRules.of("multi-krum", Map.of("f", "1")))
                .hasMessage("multi-krum needs parameter 'm'");
        assertThatThrownBy(() -> RobustRules.of("median", Map.of("beta", "0.1")))
                .hasMessage("median has no parameter 'beta' (it takes none)");
        assertThatThrownBy(() -> RobustRules.of("norm-clipping", Map.of("max_norm", "1")))
                .hasMessage("norm-clipping has no parameter 'max_norm' (expected [maxNorm])");
        assertThatThrownBy(() -> RobustRules.of("trimmed-mean", Map.of("beta", "ten percent")))
                .hasMessage("trimmed-mean parameter 'beta' must be a number, not 'ten percent'");
        assertThatThrownBy(() -> RobustRules.of("multi-krum", Map.of("f", "1.5", "m", "2")))
                .hasMessage("multi-krum parameter 'f' must be an integer, not '1.5'");
        assertThatThrownBy(() -> RobustRules.of("trimmed-mean", Map.of("beta", "0.7")))
                .hasMessage("trimmed-mean needs 0 <= beta < 0.5, not 0.7");
        assertThatThrownBy(() -> RobustRules.parse("median(oops"))
                .hasMessage("not an aggregation rule: median(oops");
    }

    @Test
    void resultsDoNotDependOnTheOrderOfTheUpdates() {
        Random random = new Random(7);
        List<WeightedDelta> updates = new ArrayList<>();
        for (int j = 0; j < 12; j++) {
            float[][] tensors = new float[2][];
            tensors[0] = wideRange(random, 64);
            tensors[1] = wideRange(random, 17);
            // half as bfloat16 bytes, to mix kinds
            WeightedDelta d = WeightedDelta.ofFloats("site-" + j, tensors, 1 + random.nextInt(500));
            if (j % 2 == 1) {
                d = toBfloat16(d);
            }
            updates.add(d);
        }
        for (RobustRule rule : allRules()) {
            long[][] expected = bits(rule.aggregate(updates));
            for (int s = 0; s < 20; s++) {
                List<WeightedDelta> shuffled = new ArrayList<>(updates);
                Collections.shuffle(shuffled, random);

                assertThat(bits(rule.aggregate(shuffled)))
                        .as(rule.describe())
                        .isDeepEqualTo(expected);
            }
        }
        // and the data is such that naive summation in list order would differ
        assertThat(naiveSumsDifferUnderShuffling(updates, random)).isTrue();
    }

    @Test
    void rejectsEmptyRoundsDuplicateIdsAndMismatchedTensorCounts() {
        RobustRule median = new CoordinateMedian();

        assertThatThrownBy(() -> median.aggregate(List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no updates to aggregate");
        assertThatThrownBy(() -> median.aggregate(List.of(u("a", 1, 1), u("a", 2, 2))))
                .hasMessage("duplicate update id 'a'");
        assertThatThrownBy(
                        () ->
                                median.aggregate(
                                        List.of(
                                                u("a", 1, 1),
                                                WeightedDelta.ofFloats(
                                                        "b", new float[][] {{1}, {2}}, 1))))
                .hasMessage("update b has 2 tensors, expected 1");
    }

    @Test
    void validatesUpdates() {
        assertThatThrownBy(() -> u("a", 0, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("update a: weight must be positive and finite, not 0.0");
        assertThatThrownBy(() -> u("", 1, 1)).hasMessage("update id must not be empty");
        assertThatThrownBy(
                        () ->
                                new WeightedDelta(
                                        "a",
                                        new byte[][] {new byte[6]},
                                        new Kind[] {Kind.FLOAT32},
                                        1))
                .hasMessage("update a: tensor 0 has 6 bytes, not a multiple of 4 (FLOAT32)");
    }

    private static float[] wideRange(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(9) - 4));
        }
        return v;
    }

    private static WeightedDelta toBfloat16(WeightedDelta d) {
        byte[][] out = new byte[d.tensorCount()][];
        Kind[] kinds = new Kind[d.tensorCount()];
        for (int t = 0; t < out.length; t++) {
            byte[] f32 = d.tensors()[t];
            out[t] = new byte[f32.length / 2];
            for (int i = 0; i < out[t].length / 2; i++) {
                out[t][2 * i] = f32[4 * i + 2]; // the high half of each little-endian float
                out[t][2 * i + 1] = f32[4 * i + 3];
            }
            kinds[t] = Kind.BFLOAT16;
        }
        return new WeightedDelta(d.id(), out, kinds, d.weight());
    }

    private static boolean naiveSumsDifferUnderShuffling(List<WeightedDelta> updates, Random r) {
        double[] first = naiveSum(updates);
        for (int s = 0; s < 20; s++) {
            List<WeightedDelta> shuffled = new ArrayList<>(updates);
            Collections.shuffle(shuffled, r);
            double[] other = naiveSum(shuffled);
            for (int i = 0; i < first.length; i++) {
                if (Double.doubleToRawLongBits(first[i]) != Double.doubleToRawLongBits(other[i])) {
                    return true;
                }
            }
        }
        return false;
    }

    private static double[] naiveSum(List<WeightedDelta> updates) {
        double[] acc = new double[updates.get(0).size(0)];
        for (WeightedDelta u : updates) {
            LittleEndianFloats.accumulate(acc, u.tensors()[0], u.kinds()[0], u.weight());
        }
        return acc;
    }
}
