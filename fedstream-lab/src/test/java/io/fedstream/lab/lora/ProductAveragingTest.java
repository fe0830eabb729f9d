package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ProductAveragingTest {

    @Test
    void isExactWhenTheSitesTotalRankFits() {
        // k·r = 3·2 = 6 ≤ t = 6: M has rank ≤ 6, nothing to truncate.
        LoraPair pair = LoraPair.of("l", 2, 30, 20);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(21), pair, 3);
        double[] m = LoraProducts.averageProduct(pair, in);

        PairResult r = new ProductAveraging(6).aggregate(pair, in);

        assertThat(LoraProducts.relativeDistance(r.product(pair), m)).isLessThan(1e-5);
        assertThat(LoraProducts.relativeDistance(r.product(pair), m)).isLessThan(1e-13);
        assertThat(r.report().relativeError()).isLessThan(1e-13);
        assertThat(r.report().singularValues()).hasSize(6);
        assertThat(r.report().productNorm())
                .isCloseTo(LoraProducts.frobenius(m), within(1e-13 * LoraProducts.frobenius(m)));
    }

    @Test
    void isExactAtTheSitesRankWhenTheUpdatesShareASubspace() {
        // Bᵢ = U·Cᵢ, Aᵢ = Dᵢ·V: M = U·(Σ pᵢCᵢDᵢ)·V has rank ≤ r although k·r = 15.
        LoraPair pair = LoraPair.of("l", 3, 40, 24);
        List<LoraFactors> in = LoraTestData.sharedSubspace(new Random(22), pair, 5);
        double[] m = LoraProducts.averageProduct(pair, in);

        PairResult r = new ProductAveraging().aggregate(pair, in);

        assertThat(r.rank()).isEqualTo(3);
        assertThat(LoraProducts.relativeDistance(r.product(pair), m)).isLessThan(1e-5);
        assertThat(LoraProducts.relativeDistance(r.product(pair), m)).isLessThan(1e-13);
        assertThat(r.report().relativeError()).isLessThan(1e-13);
        double[] s = r.report().singularValues();
        assertThat(s[3]).isLessThan(1e-13 * s[0]);
    }

    @Test
    void truncationIsTheBestRankRApproximationAndReportsTheDiscardedEnergy() {
        LoraPair pair = LoraPair.of("l", 3, 18, 15);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(23), pair, 4);
        double[] m = LoraProducts.averageProduct(pair, in);
        Svd dense = Svd.of(rows(m, pair.out(), pair.in()));
        double[] sigma = dense.singularValues();

        PairResult r = new ProductAveraging().aggregate(pair, in);

        // Eckart–Young: the error of the best rank-3 approximation is the tail of the spectrum.
        double tail = 0;
        double all = 0;
        for (int j = sigma.length - 1; j >= 0; j--) {
            all += sigma[j] * sigma[j];
            if (j >= 3) {
                tail += sigma[j] * sigma[j];
            }
        }
        double expected = Math.sqrt(tail / all);
        assertThat(expected).isGreaterThan(0.1);
        assertThat(r.report().relativeError()).isCloseTo(expected, within(1e-12));
        assertThat(LoraProducts.relativeDistance(r.product(pair), m))
                .isCloseTo(expected, within(1e-12));
        // The factored route finds the same spectrum as the dense SVD of M (rank ≤ k·r = 12).
        double[] reported = r.report().singularValues();
        assertThat(reported).hasSize(12);
        for (int j = 0; j < 12; j++) {
            assertThat(reported[j]).isCloseTo(sigma[j], within(1e-13 * sigma[0]));
        }
        for (int j = 12; j < sigma.length; j++) {
            assertThat(sigma[j]).isLessThan(1e-13 * sigma[0]);
        }
        // Any other rank-3 product is worse, e.g. the factor mean.
        PairResult factor = new FactorAveraging().aggregate(pair, in);
        assertThat(LoraProducts.relativeDistance(factor.product(pair), m)).isGreaterThan(expected);
    }

    @Test
    void balancedSplitGivesBothFactorsTheRootOfSigma() {
        LoraPair pair = LoraPair.of("l", 2, 12, 10);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(24), pair, 3);
        PairResult r = new ProductAveraging(4).aggregate(pair, in);
        double[] s = r.report().singularValues();

        for (int j = 0; j < 4; j++) {
            double aa = 0;
            double bb = 0;
            for (int c = 0; c < pair.in(); c++) {
                aa += r.a(j, c) * r.a(j, c);
            }
            for (int i = 0; i < pair.out(); i++) {
                bb += r.b(i, j) * r.b(i, j);
            }
            assertThat(aa).isCloseTo(s[j], within(1e-14));
            assertThat(bb).isCloseTo(s[j], within(1e-14));
        }
    }

    @Test
    void orthonormalSplitGivesOrthonormalRowsOfA() {
        LoraPair pair = LoraPair.of("l", 2, 12, 10);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(25), pair, 3);
        PairResult r =
                new ProductAveraging(6, ProductAveraging.Split.ORTHONORMAL_A).aggregate(pair, in);

        assertOrthonormalRows(r.a(), 6, pair.in(), 1.0);
        assertThat(
                        LoraProducts.relativeDistance(
                                r.product(pair), LoraProducts.averageProduct(pair, in)))
                .isLessThan(1e-13);
        assertThat(r.report().strategy()).isEqualTo("product-svd(rank=6,split=orthonormal_a)");
    }

    @Test
    void ranksBeyondRankOfMGetZeroBColumnsAndFreshTrainableARows() {
        // One site at r = 2, re-factorised to t = 5: three directions beyond rank(M) = 2.
        LoraPair pair = LoraPair.of("l", 2, 9, 7);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(26), pair, 1);
        double[] m = LoraProducts.averageProduct(pair, in);

        PairResult r = new ProductAveraging(5).aggregate(pair, in);

        assertThat(LoraProducts.relativeDistance(r.product(pair), m)).isLessThan(1e-13);
        assertThat(r.report().relativeError()).isLessThan(1e-13);
        for (int i = 0; i < pair.out(); i++) {
            for (int j = 2; j < 5; j++) {
                assertThat(r.b(i, j)).isZero();
            }
        }
        // Rows 2..4 of A': orthogonal to everything else, at the site's RMS row norm.
        double ss = 0;
        for (float x : in.get(0).a()) {
            ss += (double) x * x;
        }
        double rms = Math.sqrt(ss / 2);
        double[] dead = new double[3 * pair.in()];
        System.arraycopy(r.a(), 2 * pair.in(), dead, 0, dead.length);
        assertOrthonormalRows(dead, 3, pair.in(), rms);
        for (int live = 0; live < 2; live++) {
            for (int d = 2; d < 5; d++) {
                double dot = 0;
                for (int c = 0; c < pair.in(); c++) {
                    dot += r.a(live, c) * r.a(d, c);
                }
                assertThat(dot).isCloseTo(0, within(1e-14));
            }
        }
    }

    @Test
    void zeroProductsGiveZeroBAndAnOrthonormalA() {
        // Every site still at B = 0 (e.g. nobody trained): M = 0; A' keeps a trainable basis.
        LoraPair pair = LoraPair.of("l", 3, 10, 8);
        List<LoraFactors> in = new ArrayList<>();
        for (LoraFactors f : LoraTestData.nonIid(new Random(27), pair, 2)) {
            in.add(new LoraFactors(f.a(), new float[pair.bSize()], f.weight()));
        }

        PairResult r = new ProductAveraging().aggregate(pair, in);

        assertThat(r.b()).containsOnly(0.0);
        assertThat(r.report().productNorm()).isZero();
        assertThat(r.report().relativeError()).isZero();
        double ss = 0;
        double w = 0;
        for (LoraFactors f : in) {
            double s = 0;
            for (float x : f.a()) {
                s += (double) x * x;
            }
            ss += f.weight() * s;
            w += f.weight();
        }
        assertOrthonormalRows(r.a(), 3, pair.in(), Math.sqrt(ss / w / 3));
    }

    @Test
    void isDeterministic() {
        LoraPair pair = LoraPair.of("l", 4, 50, 40);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(28), pair, 6);
        ProductAveraging strategy = new ProductAveraging(8);

        PairResult x = strategy.aggregate(pair, in);
        PairResult y = strategy.aggregate(pair, LoraTestData.nonIid(new Random(28), pair, 6));

        assertThat(x.a()).isEqualTo(y.a());
        assertThat(x.b()).isEqualTo(y.b());
        assertThat(x.report().singularValues()).isEqualTo(y.report().singularValues());
    }

    @Test
    void handlesMoreStackedColumnsThanRows() {
        // k·r = 12 > out = 5: the QR of L is wide, the core is 5 × 12.
        LoraPair pair = LoraPair.of("l", 3, 20, 5);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(29), pair, 4);
        double[] m = LoraProducts.averageProduct(pair, in);

        PairResult r = new ProductAveraging(5).aggregate(pair, in);

        assertThat(r.report().singularValues()).hasSize(5);
        assertThat(LoraProducts.relativeDistance(r.product(pair), m)).isLessThan(1e-13);
    }

    @Test
    void rejectsARankAboveTheWeightsDimensions() {
        LoraPair pair = LoraPair.of("l", 2, 6, 4);
        List<LoraFactors> in = LoraTestData.nonIid(new Random(30), pair, 3);

        assertThatThrownBy(() -> new ProductAveraging(5).aggregate(pair, in))
                .hasMessageContaining("rank 5 exceeds min(out, in) = 4");
        assertThatThrownBy(() -> new ProductAveraging(0))
                .hasMessageContaining("rank must be positive");
    }

    static void assertOrthonormalRows(double[] a, int rows, int cols, double norm) {
        for (int x = 0; x < rows; x++) {
            for (int y = 0; y < rows; y++) {
                double dot = 0;
                for (int c = 0; c < cols; c++) {
                    dot += a[x * cols + c] * a[y * cols + c];
                }
                assertThat(dot)
                        .as("row %d · row %d", x, y)
                        .isCloseTo(x == y ? norm * norm : 0, within(1e-14 * Math.max(1, norm)));
            }
        }
    }

    static double[][] rows(double[] m, int out, int in) {
        double[][] x = new double[out][in];
        for (int i = 0; i < out; i++) {
            System.arraycopy(m, i * in, x[i], 0, in);
        }
        return x;
    }
}
