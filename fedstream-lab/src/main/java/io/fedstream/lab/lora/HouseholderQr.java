package io.fedstream.lab.lora;

/**
 * Householder QR of a tall or wide matrix X (n × m, column-major), X = Q·R with Q (n × n)
 * orthogonal, kept implicitly as p = min(n, m) reflectors, and R (p × m) upper trapezoidal.
 *
 * <p>Backward stable: the computed R is the exact factor of X + E with ‖E‖_F ≤ c·n·m·ε·‖X‖_F,
 * whatever the rank or conditioning of X. Time O(n·m·p), no extra memory beyond the input, which it
 * overwrites. Only IEEE basic operations and {@link Math#sqrt}, in a fixed order: deterministic.
 *
 * <p>Own code rather than EJML's QR: {@code Factored} applies the implicit reflectors to
 * column-major buffers in place, which EJML's row-major API would make copies for; EJML is the
 * tests' independent reference ({@code EjmlReferenceTest}).
 */
final class HouseholderQr {
    private final int n;
    private final int m;
    private final int p;

    /** Reflector j is v_j = qr[j..n-1, j] with tau[j]: H_j = I − tau_j v_j v_jᵀ. */
    private final double[] qr;

    private final double[] tau;
    private final double[] rDiag;

    /** Factors x (n × m, column-major), overwriting it. */
    HouseholderQr(double[] x, int n, int m) {
        if (x.length != (long) n * m) {
            throw new IllegalArgumentException(
                    "matrix has " + x.length + " elements, expected " + n + "×" + m);
        }
        this.n = n;
        this.m = m;
        this.p = Math.min(n, m);
        this.qr = x;
        this.tau = new double[p];
        this.rDiag = new double[p];
        for (int j = 0; j < p; j++) {
            int cj = j * n;
            double ss = 0;
            for (int i = j; i < n; i++) {
                double v = x[cj + i];
                ss += v * v;
            }
            double norm = Math.sqrt(ss);
            if (norm == 0) {
                // Column already zero below the diagonal: H_j = I.
                tau[j] = 0;
                rDiag[j] = 0;
                continue;
            }
            double x0 = x[cj + j];
            double alpha = x0 >= 0 ? -norm : norm;
            // v = x − alpha·e1; vᵀv = 2·norm·(norm + |x0|); H = I − (2 / vᵀv)·v·vᵀ maps x to
            // alpha·e1.
            x[cj + j] = x0 - alpha;
            tau[j] = 1.0 / (norm * (norm + Math.abs(x0)));
            rDiag[j] = alpha;
            for (int l = j + 1; l < m; l++) {
                reflect(j, x, l * n);
            }
        }
    }

    /** Applies H_j to the column y[off .. off+n-1]. */
    private void reflect(int j, double[] y, int off) {
        if (tau[j] == 0) {
            return;
        }
        int cj = j * n;
        double s = 0;
        for (int i = j; i < n; i++) {
            s += qr[cj + i] * y[off + i];
        }
        s *= tau[j];
        if (s == 0) {
            return;
        }
        for (int i = j; i < n; i++) {
            y[off + i] -= s * qr[cj + i];
        }
    }

    int rows() {
        return n;
    }

    int cols() {
        return m;
    }

    /** min(rows, cols): the number of rows of R. */
    int rank() {
        return p;
    }

    /** R (p × m, column-major, zeros below the diagonal). */
    double[] r() {
        double[] r = new double[p * m];
        for (int l = 0; l < m; l++) {
            int lim = Math.min(l, p);
            for (int i = 0; i < lim; i++) {
                r[l * p + i] = qr[l * n + i];
            }
            if (l < p) {
                r[l * p + l] = rDiag[l];
            }
        }
        return r;
    }

    /**
     * Replaces y (n × cols, column-major) by Q·y, Q the full n × n orthogonal factor. The first p
     * columns of Q span the columns of X; the others complete it to a basis of ℝⁿ.
     */
    void applyQ(double[] y, int cols) {
        if (y.length != (long) n * cols) {
            throw new IllegalArgumentException(
                    "matrix has " + y.length + " elements, expected " + n + "×" + cols);
        }
        for (int c = 0; c < cols; c++) {
            for (int j = p - 1; j >= 0; j--) {
                reflect(j, y, c * n);
            }
        }
    }
}
