package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StackedLoraTest {

    @Test
    void stackingIsExactlyTheAverageAtRankKr() {
        LoraPair pair = LoraPair.of("l", 3, 20, 16);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(31), pair, 4);

        PairResult r = new StackedLora().aggregate(pair, in);

        assertThat(r.rank()).isEqualTo(12);
        assertThat(r.a()).hasSize(12 * 20);
        assertThat(r.b()).hasSize(16 * 12);
        assertThat(
                        LoraProducts.relativeDistance(
                                r.product(pair), LoraProducts.averageProduct(pair, in)))
                .isLessThan(1e-15);
        assertThat(r.report().relativeError()).isZero();
        // Site 2's A is rows 6..8, unchanged.
        assertThat(r.a(7, 5)).isEqualTo((double) in.get(2).a(pair, 1, 5));
    }
}
