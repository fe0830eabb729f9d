package io.fedstream.aggregation.prompt;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Spherical k-means (cosine similarity to unit-length centroids) with k-means++ seeding from a
 * seeded random generator: the same points, k and seed always give the same labels. {@value
 * #STARTS} starts (k-means++ seedings drawn one after another from the seed's generator) each run
 * Lloyd iterations until no label changes or {@code maxIterations}; the start with the smallest
 * objective, the sum of 1 - cos(point, its centroid), wins (the first on ties). An emptied cluster
 * keeps its last centroid.
 *
 * <p>Kept, not Commons Math's {@code KMeansPlusPlusClusterer} or Tribuo's: both average centroids
 * without normalising (Euclidean k-means), the merge clusters directions; SklearnClustersTest
 * checks the partitions against scikit-learn's.
 */
public final class KMeans {
    /**
     * k-means++ starts per clustering (scikit-learn's long-time n_init): one start lands in a local
     * optimum on clear groups often enough (an outlier alone, two groups merged) to matter.
     */
    static final int STARTS = 10;

    private KMeans() {}

    public static int[] cluster(List<float[]> points, int k, long seed, int maxIterations) {
        int n = points.size();
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("need 1 <= k <= " + n + " points, got k=" + k);
        }
        double[][] unit = new double[n][];
        for (int i = 0; i < n; i++) {
            unit[i] = unit(points.get(i));
        }
        SplittableRandom random = new SplittableRandom(seed);
        int[] best = null;
        double bestObjective = Double.POSITIVE_INFINITY;
        for (int start = 0; start < STARTS; start++) {
            double[][] centroids = seed(unit, k, random);
            int[] label = lloyd(unit, centroids, maxIterations);
            double objective = 0;
            for (int i = 0; i < n; i++) {
                objective += 1 - dot(unit[i], centroids[label[i]]);
            }
            if (objective < bestObjective) {
                bestObjective = objective;
                best = label;
            }
        }
        return best;
    }

    /** Lloyd iterations from {@code centroids} (updated in place); returns the labels. */
    private static int[] lloyd(double[][] unit, double[][] centroids, int maxIterations) {
        int n = unit.length;
        int k = centroids.length;
        int dim = unit[0].length;
        int[] label = new int[n];
        Arrays.fill(label, -1);
        for (int it = 0; it < maxIterations; it++) {
            boolean changed = false;
            for (int i = 0; i < n; i++) {
                int best = 0;
                double bestSim = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < k; c++) {
                    double s = dot(unit[i], centroids[c]);
                    if (s > bestSim) {
                        bestSim = s;
                        best = c;
                    }
                }
                if (label[i] != best) {
                    label[i] = best;
                    changed = true;
                }
            }
            if (!changed) {
                break;
            }
            for (int c = 0; c < k; c++) {
                double[] sum = new double[dim];
                int count = 0;
                for (int i = 0; i < n; i++) {
                    if (label[i] == c) {
                        count++;
                        for (int d = 0; d < dim; d++) {
                            sum[d] += unit[i][d];
                        }
                    }
                }
                if (count > 0) {
                    double norm = Math.sqrt(dot(sum, sum));
                    if (norm > 0) {
                        for (int d = 0; d < dim; d++) {
                            sum[d] /= norm;
                        }
                        centroids[c] = sum;
                    }
                }
            }
        }
        return label;
    }

    /** k-means++: the first centroid uniformly, each next one with probability ∝ distance². */
    private static double[][] seed(double[][] unit, int k, SplittableRandom random) {
        int n = unit.length;
        double[][] centroids = new double[k][];
        centroids[0] = unit[random.nextInt(n)].clone();
        double[] d2 = new double[n];
        for (int c = 1; c < k; c++) {
            double total = 0;
            for (int i = 0; i < n; i++) {
                double best = Double.POSITIVE_INFINITY;
                for (int j = 0; j < c; j++) {
                    double d = Math.max(0, 1 - dot(unit[i], centroids[j]));
                    best = Math.min(best, d * d);
                }
                d2[i] = best;
                total += best;
            }
            int pick;
            if (total == 0) {
                pick = random.nextInt(n); // all points coincide with a centroid
            } else {
                double r = random.nextDouble() * total;
                pick = n - 1;
                for (int i = 0; i < n; i++) {
                    r -= d2[i];
                    if (r < 0) {
                        pick = i;
                        break;
                    }
                }
            }
            centroids[c] = unit[pick].clone();
        }
        return centroids;
    }

    private static double[] unit(float[] v) {
        double[] out = new double[v.length];
        double norm = Vectors.norm(v);
        for (int i = 0; i < v.length; i++) {
            out[i] = norm == 0 ? 0 : v[i] / norm;
        }
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
