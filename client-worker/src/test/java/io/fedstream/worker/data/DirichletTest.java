package io.fedstream.worker.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DirichletTest {

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 0.5, 1.0, 2.5, 10.0})
    void gammaHasMeanAndVarianceEqualToTheShape(double shape) {
        SplittableRandom rnd = new SplittableRandom(11);
        int n = 200_000;
        double sum = 0;
        double sumSq = 0;
        for (int i = 0; i < n; i++) {
            double g = Dirichlet.gamma(shape, rnd);
            assertThat(g).isNotNegative();
            sum += g;
            sumSq += g * g;
        }
        double mean = sum / n;
        double variance = sumSq / n - mean * mean;
        assertThat(mean).isCloseTo(shape, within(0.03 * Math.max(shape, 1)));
        assertThat(variance).isCloseTo(shape, within(0.06 * Math.max(shape, 1)));
    }

    @Test
    void samplesLieOnTheSimplexWithTheExpectedMean() {
        double[] alpha = {0.5, 1, 2, 4.5};
        double total = 8;
        SplittableRandom rnd = new SplittableRandom(3);
        double[] mean = new double[alpha.length];
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            double[] p = Dirichlet.sample(alpha, rnd);
            double s = 0;
            for (int k = 0; k < p.length; k++) {
                assertThat(p[k]).isBetween(0.0, 1.0);
                s += p[k];
                mean[k] += p[k] / n;
            }
            assertThat(s).isCloseTo(1.0, within(1e-12));
        }
        for (int k = 0; k < alpha.length; k++) {
            assertThat(mean[k]).isCloseTo(alpha[k] / total, within(0.005));
        }
    }

    @Test
    void theSameSeedGivesTheSameDraws() {
        double[] a = Dirichlet.symmetric(0.3, 10, new SplittableRandom(99));
        double[] b = Dirichlet.symmetric(0.3, 10, new SplittableRandom(99));
        double[] c = Dirichlet.symmetric(0.3, 10, new SplittableRandom(100));
        assertThat(a).containsExactly(b);
        assertThat(a).isNotEqualTo(c);
    }

    @Test
    void smallConcentrationPutsMostMassOnOneComponent() {
        SplittableRandom rnd = new SplittableRandom(5);
        double maxSmall = 0;
        double maxLarge = 0;
        int n = 2000;
        for (int i = 0; i < n; i++) {
            maxSmall += max(Dirichlet.symmetric(0.05, 8, rnd)) / n;
            maxLarge += max(Dirichlet.symmetric(100, 8, rnd)) / n;
        }
        assertThat(maxSmall).isGreaterThan(0.8);
        assertThat(maxLarge).isLessThan(0.2);
    }

    @Test
    void tinyConcentrationsStillGiveAValidPoint() {
        // Gamma(0.001) underflows to 0 in double almost always; normalising in log space copes.
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < 1000; i++) {
            double[] p = Dirichlet.symmetric(0.001, 5, rnd);
            double s = 0;
            for (double v : p) {
                assertThat(v).isNotNaN().isBetween(0.0, 1.0);
                s += v;
            }
            assertThat(s).isCloseTo(1.0, within(1e-12));
        }
    }

    @Test
    void rejectsNonPositiveShapes() {
        SplittableRandom rnd = new SplittableRandom(1);
        assertThatThrownBy(() -> Dirichlet.gamma(0, rnd))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Dirichlet.sample(new double[] {1, -1}, rnd))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Dirichlet.sample(new double[0], rnd))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static double max(double[] p) {
        double m = 0;
        for (double v : p) {
            m = Math.max(m, v);
        }
        return m;
    }
}
