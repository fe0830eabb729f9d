package io.fedstream.lab.lora;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;
import org.junit.jupiter.api.Test;

/**
 * The own one-sided Jacobi SVD and Householder QR against EJML's (bidiagonalisation and QR
 * iteration; Householder QR), an independent, maintained implementation, on the shapes the LoRA
 * experiments factor.
 */
class EjmlReferenceTest {

    private static final int[][] SHAPES = {{40, 25}, {25, 40}, {64, 64}, {1, 7}, {7, 1}, {200, 8}};

    @Test
    void singularValuesAreEjmls() {
        Random rnd = new Random(7);
        for (int[] shape : SHAPES) {
            double[][] m = LoraTestData.gaussianMatrix(rnd, shape[0], shape[1]);
            SingularValueDecomposition_F64<DMatrixRMaj> ejml =
                    DecompositionFactory_DDRM.svd(shape[0], shape[1], false, false, true);
            assertThat(ejml.decompose(new DMatrixRMaj(m))).isTrue();
            double[] reference = ejml.getSingularValues().clone();
            Arrays.sort(reference);
            reverse(reference);

            double[] own = Svd.of(m).singularValues();

            assertThat(own).hasSize(Math.min(shape[0], shape[1]));
            for (int j = 0; j < own.length; j++) {
                assertThat(own[j])
                        .as("σ_%d of a %d×%d matrix", j, shape[0], shape[1])
                        .isCloseTo(reference[j], within(1e-12 * reference[0]));
            }
        }
    }

    @Test
    void rIsEjmlsUpToTheSignsOfItsRows() {
        Random rnd = new Random(11);
        for (int[] shape : SHAPES) {
            int n = shape[0];
            int m = shape[1];
            double[][] x = LoraTestData.gaussianMatrix(rnd, n, m);
            QRDecomposition<DMatrixRMaj> ejml = DecompositionFactory_DDRM.qr(n, m);
            assertThat(ejml.decompose(new DMatrixRMaj(x))).isTrue();
            DMatrixRMaj reference = ejml.getR(null, true);

            double[] columnMajor = new double[n * m];
            for (int l = 0; l < m; l++) {
                for (int i = 0; i < n; i++) {
                    columnMajor[l * n + i] = x[i][l];
                }
            }
            HouseholderQr qr = new HouseholderQr(columnMajor, n, m);
            double[] r = qr.r();
            int p = qr.rank();

            assertThat(reference.numRows).isEqualTo(p);
            for (int i = 0; i < p; i++) {
                // R is unique up to the sign of each row (the sign each reflector chose)
                double sign = Math.signum(r[i * p + i]) * Math.signum(reference.get(i, i));
                for (int l = 0; l < m; l++) {
                    assertThat(r[l * p + i])
                            .as("R[%d,%d] of a %d×%d matrix", i, l, n, m)
                            .isCloseTo(sign * reference.get(i, l), within(1e-12));
                }
            }
        }
    }

    private static void reverse(double[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
