package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LoraRoundTest {
    private static final LoraPairs PAIRS =
            LoraPairs.find(
                    List.of("l0.lora_A", "l0.lora_B", "head.weight", "l1.lora_B", "l1.lora_A"),
                    List.of(
                            new int[] {2, 6},
                            new int[] {4, 2},
                            new int[] {3},
                            new int[] {5, 2},
                            new int[] {2, 4}));

    private static List<LoraUpdate> updates(long seed, int k) {
        Random rnd = new Random(seed);
        List<LoraUpdate> out = new ArrayList<>();
        for (int u = 0; u < k; u++) {
            float[][] t = new float[PAIRS.tensorCount()][];
            for (int i = 0; i < t.length; i++) {
                t[i] = LoraTestData.gaussian(rnd, PAIRS.size(i), 1);
            }
            out.add(new LoraUpdate("site-" + u, t, 1 + u));
        }
        return out;
    }

    @Test
    void aggregatesPairsWithTheStrategyAndOtherTensorsWithTheMean() {
        List<LoraUpdate> in = updates(41, 3);

        LoraRound.Result r = LoraRound.aggregate(new ProductAveraging(3), PAIRS, in);

        assertThat(r.shapes()[0]).containsExactly(3, 6);
        assertThat(r.shapes()[1]).containsExactly(4, 3);
        assertThat(r.shapes()[2]).containsExactly(3);
        assertThat(r.shapes()[3]).containsExactly(5, 3);
        assertThat(r.shapes()[4]).containsExactly(3, 4);
        // head.weight[1] = Σ wᵢxᵢ / Σ wᵢ with w = 1, 2, 3.
        double expected = 0;
        for (LoraUpdate u : in) {
            expected += u.weight() * u.tensors()[2][1];
        }
        assertThat(r.tensors()[2][1]).isCloseTo(expected / 6, within(1e-15));
        assertThat(r.reports()).extracting(PairReport::module).containsExactly("l0", "l1");
        // l1 is 5 × 4 with k·r = 6 ≥ 4: rank 3 must truncate, the report says by how much.
        assertThat(r.reports().get(1).relativeError()).isGreaterThan(0);
        assertThat(r.order()).containsExactly("site-0", "site-1", "site-2");
    }

    @Test
    void resultDoesNotDependOnArrivalOrder() {
        List<LoraUpdate> in = updates(42, 5);
        List<LoraUpdate> shuffled = new ArrayList<>(in);
        Collections.shuffle(shuffled, new Random(1));

        for (LoraAggregation s :
                List.of(
                        new FactorAveraging(),
                        new ProductAveraging(),
                        new ProductAveraging(4),
                        new StackedLora())) {
            LoraRound.Result x = LoraRound.aggregate(s, PAIRS, in);
            LoraRound.Result y = LoraRound.aggregate(s, PAIRS, shuffled);
            for (int t = 0; t < PAIRS.tensorCount(); t++) {
                assertThat(y.tensors()[t]).as(s.describe()).isEqualTo(x.tensors()[t]);
            }
        }
    }

    @Test
    void rejectsDuplicateIdsAndWrongSizes() {
        List<LoraUpdate> in = updates(43, 2);
        List<LoraUpdate> dup = List.of(in.get(0), in.get(0));
        assertThatThrownBy(() -> LoraRound.aggregate(new FactorAveraging(), PAIRS, dup))
                .hasMessageContaining("duplicate update id 'site-0'");

        float[][] t = in.get(1).tensors().clone();
        t[3] = new float[9];
        List<LoraUpdate> bad = List.of(in.get(0), new LoraUpdate("x", t, 1));
        assertThatThrownBy(() -> LoraRound.aggregate(new FactorAveraging(), PAIRS, bad))
                .hasMessageContaining("update x: tensor l1.lora_B has 9 elements, expected 10");
    }

    @Test
    void frozenAFailureNamesTheUpdateOrder() {
        assertThatThrownBy(() -> LoraRound.aggregate(new FrozenAAveraging(), PAIRS, updates(44, 2)))
                .hasMessageContaining("pair l0")
                .hasMessageContaining("update #1 differs")
                .hasMessageContaining("[site-0, site-1]");
    }

    @Test
    void fullAdapterFromBaseAndDelta() {
        float[][] base = {{1, 2}};
        float[][] delta = {{0.5f, -2}};

        assertThat(LoraUpdate.fromDelta("u", base, delta, 1).tensors()[0])
                .containsExactly(1.5f, 0f);
    }
}
