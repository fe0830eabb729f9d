package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class SvdTest {

    @Test
    void diagonalMatrixHasTheAbsoluteValuesSorted() {
        Svd svd = Svd.of(new double[][] {{3, 0}, {0, -4}});

        assertThat(svd.singularValues()).containsExactly(4, 3);
        checkFactors(new double[][] {{3, 0}, {0, -4}}, svd, 1e-15);
    }

    @Test
    void shearHasTheGoldenRatioAsSingularValues() {
        // [[1, 1], [0, 1]]: MᵀM has eigenvalues (3 ± √5)/2, so σ = φ and 1/φ.
        double phi = (1 + Math.sqrt(5)) / 2;
        double[][] m = {{1, 1}, {0, 1}};
        Svd svd = Svd.of(m);

        assertThat(svd.singularValues()[0]).isCloseTo(phi, within(1e-15));
        assertThat(svd.singularValues()[1]).isCloseTo(1 / phi, within(1e-15));
        checkFactors(m, svd, 1e-15);
    }

    @Test
    void randomTallAndWideMatricesAreReconstructed() {
        Random rnd = new Random(1);
        for (int[] shape : new int[][] {{40, 25}, {25, 40}, {64, 64}, {1, 7}, {7, 1}, {200, 3}}) {
            double[][] m = LoraTestData.gaussianMatrix(rnd, shape[0], shape[1]);
            Svd svd = Svd.of(m);

            checkFactors(m, svd, 1e-13);
            assertThat(svd.singularValues()).hasSize(Math.min(shape[0], shape[1]));
        }
    }

    @Test
    void singularValuesMatchTheFrobeniusNorm() {
        double[][] m = LoraTestData.gaussianMatrix(new Random(2), 30, 20);
        double ss = 0;
        for (double[] row : m) {
            for (double x : row) {
                ss += x * x;
            }
        }
        double sigmaSquares = 0;
        for (double s : Svd.of(m).singularValues()) {
            sigmaSquares += s * s;
        }

        assertThat(sigmaSquares).isCloseTo(ss, within(1e-12 * ss));
    }

    @Test
    void rankDeficientMatrixGetsZerosAndStillOrthonormalFactors() {
        Random rnd = new Random(3);
        double[][] x = LoraTestData.gaussianMatrix(rnd, 30, 3);
        double[][] y = LoraTestData.gaussianMatrix(rnd, 3, 20);
        double[][] m = multiply(x, y);
        Svd svd = Svd.of(m);

        double[] s = svd.singularValues();
        assertThat(svd.rank(1e-12)).isEqualTo(3);
        for (int j = 3; j < s.length; j++) {
            assertThat(s[j]).isLessThan(1e-13 * s[0]);
        }
        checkFactors(m, svd, 1e-13);
    }

    @Test
    void zeroMatrixHasZeroSingularValuesAndOrthonormalFactors() {
        double[][] m = new double[5][3];
        Svd svd = Svd.of(m);

        assertThat(svd.singularValues()).containsExactly(0, 0, 0);
        assertThat(svd.rank(1e-12)).isZero();
        checkFactors(m, svd, 1e-15);
    }

    @Test
    void gradedMatrixKeepsItsSmallSingularValues() {
        // Q₁·diag(1, 1e-5, 1e-10)·Q₂ᵀ with random orthogonal Q's: absolute accuracy ~ε·σ₁.
        Random rnd = new Random(4);
        Svd q1 = Svd.of(LoraTestData.gaussianMatrix(rnd, 12, 3));
        Svd q2 = Svd.of(LoraTestData.gaussianMatrix(rnd, 9, 3));
        double[] sigma = {1, 1e-5, 1e-10};
        double[][] m = new double[12][9];
        for (int i = 0; i < 12; i++) {
            for (int j = 0; j < 9; j++) {
                for (int l = 0; l < 3; l++) {
                    m[i][j] += q1.u(i, l) * sigma[l] * q2.u(j, l);
                }
            }
        }
        double[] s = Svd.of(m).singularValues();

        for (int l = 0; l < 3; l++) {
            assertThat(s[l]).isCloseTo(sigma[l], within(1e-15));
        }
        assertThat(s[3]).isLessThan(1e-15);
    }

    @Test
    void isDeterministic() {
        double[][] m = LoraTestData.gaussianMatrix(new Random(5), 33, 17);
        Svd a = Svd.of(m);
        Svd b = Svd.of(m);

        assertThat(a.singularValues()).isEqualTo(b.singularValues());
        assertThat(a.uColumnMajor()).isEqualTo(b.uColumnMajor());
        assertThat(a.vColumnMajor()).isEqualTo(b.vColumnMajor());
    }

    @Test
    void rejectsNonFiniteAndRaggedInput() {
        assertThatThrownBy(() -> Svd.of(new double[][] {{1, Double.NaN}}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("non-finite");
        assertThatThrownBy(() -> Svd.of(new double[][] {{1, 2}, {3}}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("row 1");
    }

    @Test
    void householderQrReconstructsAndItsQIsOrthogonal() {
        Random rnd = new Random(6);
        for (int[] shape : new int[][] {{50, 8}, {8, 50}, {10, 10}}) {
            int n = shape[0];
            int m = shape[1];
            double[] x = new double[n * m];
            for (int i = 0; i < x.length; i++) {
                x[i] = rnd.nextGaussian();
            }
            double[] orig = x.clone();
            HouseholderQr qr = new HouseholderQr(x, n, m);
            int p = qr.rank();
            double[] r = qr.r();
            // Q·[R; 0] = X.
            double[] y = new double[n * m];
            for (int c = 0; c < m; c++) {
                System.arraycopy(r, c * p, y, c * n, p);
            }
            qr.applyQ(y, m);
            assertThat(LoraTestData.maxAbsDiff(y, orig)).isLessThan(1e-13);
            // Q·I = Q has orthonormal columns.
            double[] q = new double[n * n];
            for (int i = 0; i < n; i++) {
                q[i * n + i] = 1;
            }
            qr.applyQ(q, n);
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    assertThat(Svd.dot(q, a * n, q, b * n, n))
                            .isCloseTo(a == b ? 1 : 0, within(1e-14));
                }
            }
        }
    }

    /** U·Σ·Vᵀ = M, UᵀU = I, VᵀV = I, σ non-increasing and non-negative. */
    static void checkFactors(double[][] m, Svd svd, double tol) {
        int rows = m.length;
        int cols = m[0].length;
        double[] s = svd.singularValues();
        int q = s.length;
        assertThat(q).isEqualTo(Math.min(rows, cols));
        double scale = Math.max(1, s[0]);
        for (int j = 0; j < q; j++) {
            assertThat(s[j]).isGreaterThanOrEqualTo(0);
            if (j > 0) {
                assertThat(s[j]).isLessThanOrEqualTo(s[j - 1]);
            }
        }
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double x = 0;
                for (int l = 0; l < q; l++) {
                    x += svd.u(i, l) * s[l] * svd.v(j, l);
                }
                assertThat(x).isCloseTo(m[i][j], within(tol * scale));
            }
        }
        for (int a = 0; a < q; a++) {
            for (int b = 0; b < q; b++) {
                double uu = 0;
                for (int i = 0; i < rows; i++) {
                    uu += svd.u(i, a) * svd.u(i, b);
                }
                double vv = 0;
                for (int i = 0; i < cols; i++) {
                    vv += svd.v(i, a) * svd.v(i, b);
                }
                assertThat(uu).as("UᵀU[%d][%d]", a, b).isCloseTo(a == b ? 1 : 0, within(tol * 10));
                assertThat(vv).as("VᵀV[%d][%d]", a, b).isCloseTo(a == b ? 1 : 0, within(tol * 10));
            }
        }
    }

    static double[][] multiply(double[][] x, double[][] y) {
        double[][] m = new double[x.length][y[0].length];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < y[0].length; j++) {
                for (int l = 0; l < y.length; l++) {
                    m[i][j] += x[i][l] * y[l][j];
                }
            }
        }
        return m;
    }
}
