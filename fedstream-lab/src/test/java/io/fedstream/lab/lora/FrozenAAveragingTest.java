package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrozenAAveragingTest {
    private static final LoraPair PAIR = LoraPair.of("layer0.query", 4, 24, 16);

    @Test
    void equalsTheProductAverageWhenAIsFrozen() {
        List<LoraFactors> in = LoraTestData.frozenA(new Random(11), PAIR, 5);
        double[] m = LoraProducts.averageProduct(PAIR, in);

        PairResult r = new FrozenAAveraging().aggregate(PAIR, in);

        assertThat(LoraProducts.relativeDistance(r.product(PAIR), m)).isLessThan(1e-6);
        assertThat(LoraProducts.relativeDistance(r.product(PAIR), m)).isLessThan(1e-14);
        assertThat(r.rank()).isEqualTo(4);
        assertThat(r.report().relativeError()).isZero();
        assertThat(r.report().productNorm())
                .isCloseTo(LoraProducts.frobenius(m), within(1e-14 * LoraProducts.frobenius(m)));
        // A comes back unchanged, bit for bit.
        float[] a0 = in.get(0).a();
        for (int i = 0; i < a0.length; i++) {
            assertThat(r.a()[i]).isEqualTo((double) a0[i]);
        }
    }

    @Test
    void andThenFactorAveragingIsExactToo() {
        // With a common A the cross terms vanish: B̄·A = M. Frozen-A is the principled version.
        List<LoraFactors> in = LoraTestData.frozenA(new Random(12), PAIR, 3);
        PairResult frozen = new FrozenAAveraging().aggregate(PAIR, in);
        PairResult factor = new FactorAveraging().aggregate(PAIR, in);

        assertThat(LoraTestData.maxAbsDiff(frozen.product(PAIR), factor.product(PAIR)))
                .isLessThan(1e-15);
    }

    @Test
    void acceptsEqualCopiesOfA() {
        List<LoraFactors> in = new ArrayList<>(LoraTestData.frozenA(new Random(13), PAIR, 2));
        LoraFactors f = in.get(1);
        in.set(1, new LoraFactors(f.a().clone(), f.b(), f.weight()));

        assertThat(new FrozenAAveraging().aggregate(PAIR, in).rank()).isEqualTo(4);
    }

    @Test
    void rejectsAnATrainedByOneSite() {
        List<LoraFactors> in = new ArrayList<>(LoraTestData.frozenA(new Random(14), PAIR, 3));
        LoraFactors f = in.get(2);
        float[] a = f.a().clone();
        a[27] = Math.nextUp(a[27]); // one ulp, at row 1, column 3
        in.set(2, new LoraFactors(a, f.b(), f.weight()));

        assertThatThrownBy(() -> new FrozenAAveraging().aggregate(PAIR, in))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layer0.query")
                .hasMessageContaining("update #2 differs from update #0 at A[1][3]")
                .hasMessageContaining("FFA-LoRA");
    }

    @Test
    void distinguishesNegativeZero() {
        LoraPair p = LoraPair.of("l", 1, 1, 1);
        List<LoraFactors> in =
                List.of(
                        new LoraFactors(new float[] {0f}, new float[] {1}, 1),
                        new LoraFactors(new float[] {-0f}, new float[] {1}, 1));

        assertThatThrownBy(() -> new FrozenAAveraging().aggregate(p, in))
                .hasMessageContaining("A[0][0]");
    }

    @Test
    void rejectsWrongSizesAndEmptyInput() {
        assertThatThrownBy(() -> new FrozenAAveraging().aggregate(PAIR, List.of()))
                .hasMessageContaining("no updates");
        assertThatThrownBy(
                        () ->
                                new FrozenAAveraging()
                                        .aggregate(
                                                PAIR,
                                                List.of(
                                                        new LoraFactors(
                                                                new float[3],
                                                                new float[PAIR.bSize()],
                                                                1))))
                .hasMessageContaining("lora_A has 3 elements, expected 4×24");
    }
}
