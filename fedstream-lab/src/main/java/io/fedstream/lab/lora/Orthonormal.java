package io.fedstream.lab.lora;

/** Deterministic completion of an orthonormal set of columns. */
final class Orthonormal {
    private Orthonormal() {}

    /**
     * Sets column k of cols (n rows, column-major) to a unit vector orthogonal to every column l
     * with set[l] (which must be orthonormal, and fewer than n). Takes the first basis vector e_i
     * whose residual against those columns is at least half the average residual (one must be), and
     * orthogonalises it twice (Gram–Schmidt "twice is enough", Giraud et al. 2005).
     */
    static void complete(double[] cols, int n, int k, boolean[] set) {
        int count = 0;
        for (int l = 0; l < set.length; l++) {
            if (set[l] && l != k) {
                count++;
            }
        }
        if (count >= n) {
            throw new IllegalStateException(count + " orthonormal columns already span ℝ^" + n);
        }
        double threshold = 0.5 * (n - count) / n;
        int pick = -1;
        for (int i = 0; i < n && pick < 0; i++) {
            double inside = 0;
            for (int l = 0; l < set.length; l++) {
                if (set[l] && l != k) {
                    double x = cols[l * n + i];
                    inside += x * x;
                }
            }
            if (1 - inside >= threshold) {
                pick = i;
            }
        }
        if (pick < 0) {
            throw new IllegalStateException("columns are not orthonormal");
        }
        int ok = k * n;
        for (int i = 0; i < n; i++) {
            cols[ok + i] = 0;
        }
        cols[ok + pick] = 1;
        for (int pass = 0; pass < 2; pass++) {
            for (int l = 0; l < set.length; l++) {
                if (set[l] && l != k) {
                    double d = Svd.dot(cols, l * n, cols, ok, n);
                    for (int i = 0; i < n; i++) {
                        cols[ok + i] -= d * cols[l * n + i];
                    }
                }
            }
            double norm = Math.sqrt(Svd.dot(cols, ok, cols, ok, n));
            for (int i = 0; i < n; i++) {
                cols[ok + i] /= norm;
            }
        }
    }
}
