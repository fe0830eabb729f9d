package io.fedstream.aggregation.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RdpAccountantTest {

    /**
     * Reference ε at δ = 1e-5 from Opacus' RDP accountant (pytorch/opacus, file
     * opacus/accountants/analysis/rdp.py at commit 4d0ebc84613d214fbfd37fbfd1390e3747a625ce:
     * compute_rdp + get_privacy_spent), run with NumPy 2.4 / SciPy 1.17 and the same orders as this
     * accountant (2..64, 80, 96, 128, 192, 256):
     *
     * <pre>
     * orders = list(range(2, 65)) + [80, 96, 128, 192, 256]
     * r = rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
     * eps, _ = rdp.get_privacy_spent(orders=orders, rdp=r, delta=1e-5)
     * </pre>
     *
     * Rows with q = 1 are the plain Gaussian mechanism; 256/60000, 1.1, 14062 is DP-SGD on MNIST
     * with batch 256 for 60 epochs (TensorFlow Privacy's tutorial setting); 0.01, 4, 10000 is the
     * example of Abadi et al. 2016 (Section 3.1).
     */
    @ParameterizedTest(name = "q={0} sigma={1} steps={2}: epsilon {3}")
    @CsvSource({
        "1.0, 1.0, 1, 4.752728336819822",
        "1.0, 2.0, 10, 8.087861628831664",
        "1.0, 5.0, 100, 10.801691480042896",
        "1.0, 0.8, 1, 6.158978336819822",
        "0.01, 4.0, 10000, 1.0354900660362476",
        "0.004266666666666667, 1.1, 14062, 2.5969811785953",
        "0.1, 1.0, 100, 7.972921510380547",
        "0.05, 2.0, 1000, 4.025975927550716",
        "0.5, 3.0, 50, 6.157166869405429"
    })
    void matchesOpacusRdpAccountant(double q, double sigma, long steps, double reference) {
        assertThat(RdpAccountant.epsilon(q, sigma, steps, 1e-5))
                .isCloseTo(reference, within(1e-9 * reference));
    }

    @Test
    void staysBelowTheMomentsAccountantOfAbadiEtAl() {
        // Abadi et al., "Deep Learning with Differential Privacy" (CCS 2016), Section 3.1: q =
        // 0.01,
        // sigma = 4, delta = 1e-5, T = 10000 gives epsilon ~ 1.26 with the moments accountant
        // (whose conversion RDP's improves on).
        double eps = RdpAccountant.epsilon(0.01, 4.0, 10_000, 1e-5);
        assertThat(eps).isLessThan(1.26).isGreaterThan(0.8);
    }

    @Test
    void theGaussianMechanismHasItsClosedFormRdp() {
        double[] rdp = RdpAccountant.rdp(1.0, 2.0, 3);
        double[] orders = RdpAccountant.orders();
        for (int k = 0; k < orders.length; k++) {
            assertThat(rdp[k]).isEqualTo(3 * orders[k] / 8.0);
        }
    }

    @Test
    void kContributionsToOneRoundCostLikeSigmaOverK() {
        double[] two = RdpAccountant.round(3.0, 2);
        double[] plain = RdpAccountant.rdp(1.0, 1.5, 1);
        assertThat(two).containsExactly(plain);
        // and four times one contribution
        double[] one = RdpAccountant.round(3.0, 1);
        for (int k = 0; k < one.length; k++) {
            assertThat(two[k]).isCloseTo(4 * one[k], within(1e-12));
        }
    }

    @Test
    void composingRoundsIsAddingSteps() {
        double[] r = RdpAccountant.zero();
        for (int i = 0; i < 7; i++) {
            r = RdpAccountant.compose(r, RdpAccountant.round(1.3, 1));
        }
        assertThat(RdpAccountant.epsilon(r, 1e-5))
                .isCloseTo(RdpAccountant.epsilon(1.0, 1.3, 7, 1e-5), within(1e-12));
        assertThat(RdpAccountant.epsilon(RdpAccountant.zero(), 1e-5)).isZero();
    }

    @Test
    void sigmaForReachesTheTargetEpsilon() {
        for (double target : new double[] {1, 4, 8}) {
            double sigma = RdpAccountant.sigmaFor(target, 1e-5, 10, 1.0);
            assertThat(RdpAccountant.epsilon(1.0, sigma, 10, 1e-5)).isLessThanOrEqualTo(target);
            assertThat(RdpAccountant.epsilon(1.0, sigma * 0.99, 10, 1e-5)).isGreaterThan(target);
        }
        assertThat(RdpAccountant.sigmaFor(4, 1e-5, 10, 1.0))
                .isGreaterThan(RdpAccountant.sigmaFor(8, 1e-5, 10, 1.0));
    }

    @Test
    void refusesMeaninglessParameters() {
        assertThatThrownBy(() -> RdpAccountant.rdp(1.0, 0.0, 1))
                .hasMessageContaining("noise multiplier");
        assertThatThrownBy(() -> RdpAccountant.epsilon(RdpAccountant.zero(), 0))
                .hasMessageContaining("delta");
        assertThatThrownBy(() -> RdpAccountant.rdp(1.5, 1.0, 1)).hasMessageContaining("sampling");
    }
}
