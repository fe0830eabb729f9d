package io.fedstream.aggregation.prompt;

import java.util.Arrays;
import java.util.List;

/**
 * Chooses DBSCAN's eps from the data: the k-distance of every point (its distance to its k-th
 * nearest other point) sorted ascending gives a curve that stays flat inside clusters and rises
 * steeply for outliers; eps is the curve's value at its elbow, the point farthest from the straight
 * line through the curve's first and last points (the "kneedle" criterion of Satopää et al. 2011,
 * without smoothing).
 *
 * <p>Kept: no maintained Java library offers the kneedle; the k-distances are checked against
 * scikit-learn's NearestNeighbors by SklearnClustersTest.
 */
public final class Elbow {
    private Elbow() {}

    /**
     * The sorted k-distances of {@code points} under cosine distance.
     *
     * @param k the neighbour rank, 1 = nearest other point (DBSCAN's minPts - 1)
     */
    public static double[] sortedKDistances(List<float[]> points, int k) {
        int n = points.size();
        if (k < 1 || k >= n) {
            throw new IllegalArgumentException("need 1 <= k < number of points, got k=" + k);
        }
        double[] out = new double[n];
        double[] row = new double[n - 1];
        for (int i = 0; i < n; i++) {
            int c = 0;
            for (int j = 0; j < n; j++) {
                if (j != i) {
                    row[c++] = Vectors.cosineDistance(points.get(i), points.get(j));
                }
            }
            Arrays.sort(row);
            out[i] = row[k - 1];
        }
        Arrays.sort(out);
        return out;
    }

    /**
     * Index of the elbow of an ascending curve. Both axes are scaled to [0, 1] (index / (n-1) and
     * (y - first) / (last - first)), which puts the chord on the diagonal; the elbow is the point
     * farthest below it, max(x' - y') (the first on ties). A curve with fewer than three points, a
     * flat one or one that never falls below its chord has no elbow and gives index 0, the smallest
     * radius: without evidence of clusters only (near-)identical points are grouped.
     */
    public static int elbowIndex(double[] ascending) {
        int n = ascending.length;
        if (n == 0) {
            throw new IllegalArgumentException("empty curve");
        }
        double range = ascending[n - 1] - ascending[0];
        if (n < 3 || !(range > 0)) {
            return 0;
        }
        int best = 0;
        double bestGap = 1e-12;
        for (int i = 1; i < n - 1; i++) {
            double gap = (double) i / (n - 1) - (ascending[i] - ascending[0]) / range;
            if (gap > bestGap) {
                bestGap = gap;
                best = i;
            }
        }
        return best;
    }

    /** eps for DBSCAN: the k-distance at the elbow of the sorted k-distance curve. */
    public static double eps(List<float[]> points, int k) {
        double[] curve = sortedKDistances(points, k);
        return curve[elbowIndex(curve)];
    }
}
