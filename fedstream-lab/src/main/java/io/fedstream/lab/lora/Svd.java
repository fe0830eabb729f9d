package io.fedstream.lab.lora;

import java.util.Arrays;

/**
 * Thin singular value decomposition X = U·diag(σ)·Vᵀ of a real matrix (rows × cols), q = min(rows,
 * cols): U (rows × q) and V (cols × q) with orthonormal columns, σ (q) non-increasing and
 * non-negative.
 *
 * <h2>Algorithm</h2>
 *
 * One-sided Jacobi (Hestenes 1958; Demmel &amp; Veselić 1992) on the tall orientation G (n × q, n ≥
 * q: X or Xᵀ): plane rotations applied to pairs of columns of G, accumulated in V, until every pair
 * of columns is orthogonal to relative precision {@value #TOLERANCE}; then σ_j = ‖g_j‖ and u_j =
 * g_j/σ_j. Columns are never squared into a Gram matrix, so small singular values keep their
 * relative accuracy (an eigen-decomposition of XᵀX would lose half the digits). Each sweep costs
 * O(n·q²); a handful of sweeps (quadratic convergence) suffice, capped at {@value #MAX_SWEEPS}.
 *
 * <p>Singular vectors of zero (or numerically zero, σ ≤ 1e-13·σ₁) singular values are completed
 * deterministically to an orthonormal set: U and V always have orthonormal columns. Equal singular
 * values keep the order of the converged columns (the sort is stable), so ties are deterministic.
 *
 * <h2>Determinism</h2>
 *
 * Only IEEE basic operations and {@link Math#sqrt}, in a fixed order, no randomness, no
 * parallelism: the same input gives the same bits on any Java 17 JVM.
 *
 * <p>Own code rather than EJML's SVD (bidiagonalisation and QR iteration): one-sided Jacobi keeps
 * the small singular values of the stacked LoRA factors to relative accuracy, and the bits are
 * fixed; EJML is the tests' independent reference ({@code EjmlReferenceTest}).
 */
public final class Svd {
    static final double TOLERANCE = 1e-15;
    static final int MAX_SWEEPS = 80;
    private static final double ZERO_SINGULAR = 1e-13;

    private final int rows;
    private final int cols;
    private final int q;

    /** U, rows × q, column-major. */
    private final double[] u;

    /** V, cols × q, column-major. */
    private final double[] v;

    private final double[] s;
    private final int sweeps;

    private Svd(int rows, int cols, double[] u, double[] s, double[] v, int sweeps) {
        this.rows = rows;
        this.cols = cols;
        this.q = s.length;
        this.u = u;
        this.s = s;
        this.v = v;
        this.sweeps = sweeps;
    }

    /** The SVD of a matrix given as rows (all of the same positive length); not modified. */
    public static Svd of(double[][] matrix) {
        int r = matrix.length;
        if (r == 0 || matrix[0].length == 0) {
            throw new IllegalArgumentException("empty matrix");
        }
        int c = matrix[0].length;
        double[] x = new double[r * c];
        for (int i = 0; i < r; i++) {
            if (matrix[i].length != c) {
                throw new IllegalArgumentException(
                        "row " + i + " has " + matrix[i].length + " columns, expected " + c);
            }
            for (int j = 0; j < c; j++) {
                x[j * r + i] = matrix[i][j];
            }
        }
        return ofColumnMajor(x, r, c);
    }

    /** The SVD of x (rows × cols, column-major); x is not modified. */
    static Svd ofColumnMajor(double[] x, int rows, int cols) {
        if (rows <= 0 || cols <= 0 || x.length != (long) rows * cols) {
            throw new IllegalArgumentException(
                    "matrix has " + x.length + " elements, expected " + rows + "×" + cols);
        }
        for (double e : x) {
            if (!Double.isFinite(e)) {
                throw new IllegalArgumentException("matrix has a non-finite element: " + e);
            }
        }
        if (rows >= cols) {
            Jacobi j = new Jacobi(x.clone(), rows, cols);
            return new Svd(rows, cols, j.u, j.s, j.v, j.sweeps);
        }
        // Xᵀ = V Σ Uᵀ: decompose the tall transpose and swap the factors.
        double[] t = new double[x.length];
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) {
                t[r * cols + c] = x[c * rows + r];
            }
        }
        Jacobi j = new Jacobi(t, cols, rows);
        return new Svd(rows, cols, j.v, j.s, j.u, j.sweeps);
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** The singular values, non-increasing (a copy). */
    public double[] singularValues() {
        return s.clone();
    }

    /** Element (i, j) of U (rows × min(rows, cols)). */
    public double u(int i, int j) {
        return u[j * rows + i];
    }

    /** Element (i, j) of V (cols × min(rows, cols)). */
    public double v(int i, int j) {
        return v[j * cols + i];
    }

    /** Number of singular values above tol·σ₁ (0 for the zero matrix). */
    public int rank(double tol) {
        int k = 0;
        while (k < q && s[k] > tol * s[0]) {
            k++;
        }
        return k;
    }

    /** The Jacobi sweeps used (for diagnostics). */
    public int sweeps() {
        return sweeps;
    }

    /** U column-major (package view, not a copy). */
    double[] uColumnMajor() {
        return u;
    }

    /** V column-major (package view, not a copy). */
    double[] vColumnMajor() {
        return v;
    }

    double[] sView() {
        return s;
    }

    /** The one-sided Jacobi iteration on a tall matrix g (n × m, n ≥ m, column-major). */
    private static final class Jacobi {
        final double[] u;
        final double[] s;
        final double[] v;
        final int sweeps;

        Jacobi(double[] g, int n, int m) {
            double[] vv = new double[m * m];
            for (int j = 0; j < m; j++) {
                vv[j * m + j] = 1;
            }
            int sweep = 0;
            boolean rotated = true;
            double[] sq = new double[m];
            while (rotated && sweep < MAX_SWEEPS) {
                rotated = false;
                sweep++;
                // Squared column norms, recomputed each sweep and updated exactly-in-theory after
                // each rotation (α' = α − tγ, β' = β + tγ), so a pair costs one dot product.
                for (int j = 0; j < m; j++) {
                    sq[j] = dot(g, j * n, g, j * n, n);
                }
                for (int a = 0; a < m - 1; a++) {
                    for (int b = a + 1; b < m; b++) {
                        if (rotate(g, n, a, b, vv, m, sq)) {
                            rotated = true;
                        }
                    }
                }
            }
            double[] norms = new double[m];
            for (int j = 0; j < m; j++) {
                norms[j] = Math.sqrt(dot(g, j * n, g, j * n, n));
            }
            Integer[] order = new Integer[m];
            for (int j = 0; j < m; j++) {
                order[j] = j;
            }
            // Stable: equal values keep their column order.
            Arrays.sort(order, (x, y) -> Double.compare(norms[y], norms[x]));
            this.s = new double[m];
            this.u = new double[n * m];
            this.v = new double[m * m];
            double cutoff = m == 0 ? 0 : ZERO_SINGULAR * norms[order[0]];
            boolean[] live = new boolean[m];
            for (int k = 0; k < m; k++) {
                int j = order[k];
                s[k] = norms[j];
                System.arraycopy(vv, j * m, v, k * m, m);
                live[k] = norms[j] > cutoff && norms[j] > 0;
                if (live[k]) {
                    double inv = 1.0 / norms[j];
                    for (int i = 0; i < n; i++) {
                        u[k * n + i] = g[j * n + i] * inv;
                    }
                }
            }
            for (int k = 0; k < m; k++) {
                if (!live[k]) {
                    Orthonormal.complete(u, n, k, live);
                    live[k] = true;
                }
            }
            this.sweeps = sweep;
        }

        /** Rotates columns a and b of g (and of v) to make them orthogonal; false if they were. */
        private static boolean rotate(
                double[] g, int n, int a, int b, double[] v, int m, double[] sq) {
            int oa = a * n;
            int ob = b * n;
            double alpha = sq[a];
            double beta = sq[b];
            if (alpha == 0 || beta == 0) {
                return false;
            }
            double gamma = dot(g, oa, g, ob, n);
            if (Math.abs(gamma) <= TOLERANCE * Math.sqrt(alpha) * Math.sqrt(beta)) {
                return false;
            }
            double zeta = (beta - alpha) / (2 * gamma);
            double t;
            if (Math.abs(zeta) > 1e150) {
                t = 0.5 / zeta;
            } else {
                t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                if (zeta == 0) {
                    t = 1;
                }
            }
            double c = 1 / Math.sqrt(1 + t * t);
            double sn = c * t;
            sq[a] = alpha - t * gamma;
            sq[b] = beta + t * gamma;
            for (int i = 0; i < n; i++) {
                double x = g[oa + i];
                double y = g[ob + i];
                g[oa + i] = c * x - sn * y;
                g[ob + i] = sn * x + c * y;
            }
            int va = a * m;
            int vb = b * m;
            for (int i = 0; i < m; i++) {
                double x = v[va + i];
                double y = v[vb + i];
                v[va + i] = c * x - sn * y;
                v[vb + i] = sn * x + c * y;
            }
            return true;
        }
    }

    static double dot(double[] x, int ox, double[] y, int oy, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += x[ox + i] * y[oy + i];
        }
        return s;
    }
}
