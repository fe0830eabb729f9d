package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The smallest counterexample: two rank-1 sites on a 2 × 2 weight. Site 1 learned B₁A₁ = e₁e₁ᵀ,
 * site 2 learned B₂A₂ = e₂e₂ᵀ.
 */
class FactorVersusProductTest {
    private static final LoraPair PAIR = LoraPair.of("l0", 1, 2, 2);

    private static List<LoraFactors> sites(double w1, double w2) {
        return List.of(
                new LoraFactors(new float[] {1, 0}, new float[] {1, 0}, w1),
                new LoraFactors(new float[] {0, 1}, new float[] {0, 1}, w2));
    }

    @Test
    void factorAveragingAddsCrossTermsNoSiteTrained() {
        // M = ½·I. B̄ = Ā = (½, ½) so B̄Ā = ¼·[[1, 1], [1, 1]]; the gap ¼·[[-1, 1], [1, -1]] has
        // norm ½ against ‖M‖ = 1/√2: relative error 1/√2.
        List<LoraFactors> in = sites(1, 1);
        PairResult factor = new FactorAveraging(true).aggregate(PAIR, in);
        double[] m = LoraProducts.averageProduct(PAIR, in);

        assertThat(m).containsExactly(0.5, 0, 0, 0.5);
        assertThat(factor.product(PAIR)).containsExactly(0.25, 0.25, 0.25, 0.25);
        assertThat(LoraProducts.relativeDistance(factor.product(PAIR), m))
                .isCloseTo(Math.sqrt(0.5), within(1e-15));
        assertThat(factor.report().relativeError()).isCloseTo(Math.sqrt(0.5), within(1e-14));
        assertThat(factor.report().productNorm()).isCloseTo(Math.sqrt(0.5), within(1e-15));
    }

    @Test
    void productAveragingAtRankTwoIsExactAndAtRankOneLosesOneDirection() {
        List<LoraFactors> in = sites(1, 1);

        PairResult r2 = new ProductAveraging(2).aggregate(PAIR, in);
        assertThat(r2.product(PAIR)).containsExactly(new double[] {0.5, 0, 0, 0.5}, within(1e-15));
        assertThat(r2.report().relativeError()).isCloseTo(0, within(1e-15));
        assertThat(r2.report().singularValues())
                .containsExactly(new double[] {0.5, 0.5}, within(1e-15));

        // σ = (½, ½): any one direction is a best rank-1 approximation; ½ of ½ is discarded.
        PairResult r1 = new ProductAveraging().aggregate(PAIR, in);
        assertThat(r1.rank()).isEqualTo(1);
        assertThat(r1.report().relativeError()).isCloseTo(Math.sqrt(0.5), within(1e-15));
        assertThat(
                        LoraProducts.relativeDistance(
                                r1.product(PAIR), LoraProducts.averageProduct(PAIR, in)))
                .isCloseTo(Math.sqrt(0.5), within(1e-15));
    }

    @Test
    void weightedCaseByHand() {
        // Weights 1 and 3: M = diag(¼, ¾), ‖M‖ = √(10)/4.
        List<LoraFactors> in = sites(1, 3);
        double normM = Math.sqrt(10) / 4;

        // Factor mean: B̄ = Ā = (¼, ¾), B̄Ā = [[1, 3], [3, 9]]/16; gap 3/16·[[-1, 1], [1, -1]] of
        // norm 3/8.
        PairResult factor = new FactorAveraging(true).aggregate(PAIR, in);
        assertThat(factor.product(PAIR))
                .containsExactly(
                        new double[] {1 / 16.0, 3 / 16.0, 3 / 16.0, 9 / 16.0}, within(1e-15));
        assertThat(factor.report().relativeError()).isCloseTo(0.375 / normM, within(1e-14));

        // Product averaging at rank 1 keeps the larger direction: diag(0, ¾), discarding ¼.
        PairResult product = new ProductAveraging().aggregate(PAIR, in);
        assertThat(product.product(PAIR))
                .containsExactly(new double[] {0, 0, 0, 0.75}, within(1e-15));
        assertThat(product.report().relativeError()).isCloseTo(0.25 / normM, within(1e-15));
        assertThat(product.report().productNorm()).isCloseTo(normM, within(1e-15));
        // ... which beats the factor mean even at the same rank (Eckart–Young).
        assertThat(product.report().relativeError()).isLessThan(factor.report().relativeError());
    }

    @Test
    void onRandomSitesFactorAveragingIsFarFromTheAverageProduct() {
        LoraPair pair = LoraPair.of("l", 4, 40, 30);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(7), pair, 5);
        double[] m = LoraProducts.averageProduct(pair, in);

        PairResult factor = new FactorAveraging(true).aggregate(pair, in);
        PairResult product = new ProductAveraging(20).aggregate(pair, in);
        double gap = LoraProducts.relativeDistance(factor.product(pair), m);

        assertThat(gap).isGreaterThan(0.3);
        assertThat(factor.report().relativeError()).isCloseTo(gap, within(1e-12));
        assertThat(LoraProducts.relativeDistance(product.product(pair), m)).isLessThan(1e-12);
    }

    @Test
    void factoredDistanceAgreesWithTheDenseOne() {
        LoraPair pair = LoraPair.of("l", 3, 25, 35);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(8), pair, 4);
        PairResult factor = new FactorAveraging().aggregate(pair, in);
        double[] m = LoraProducts.averageProduct(pair, in);

        double[] d = LoraProducts.distanceToAverage(pair, in, factor.a(), factor.b(), 3);

        assertThat(d[1]).isCloseTo(LoraProducts.frobenius(m), within(1e-14));
        assertThat(d[0] / d[1])
                .isCloseTo(LoraProducts.relativeDistance(factor.product(pair), m), within(1e-13));
        assertThat(factor.report().relativeError()).isNaN();
    }
}
