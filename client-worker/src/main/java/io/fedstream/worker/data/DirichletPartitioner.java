package io.fedstream.worker.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Non-IID label-skew partitioning of a labelled pool among sites (Hsu, Qi and Brown, 2019): for
 * every class, the examples of that class are shuffled and split among the sites in proportions
 * drawn from a symmetric {@code Dir(alpha)} over sites. Small {@code alpha} gives each site few
 * dominant labels and very different site sizes; large {@code alpha} approaches an IID split.
 *
 * <p>Every example is assigned to exactly one site. Draws are repeated (with the same seeded
 * stream) until every site holds at least {@code minPerSite} examples.
 */
public final class DirichletPartitioner {
    private static final int MAX_ATTEMPTS = 10_000;

    private DirichletPartitioner() {}

    /**
     * Splits the examples with labels {@code labels} (values in {@code [0, numClasses)}) among
     * {@code numSites} sites.
     *
     * @return for every site the indices into {@code labels} of its examples, in ascending order
     */
    public static int[][] partition(
            int[] labels, int numClasses, int numSites, double alpha, int minPerSite, long seed) {
        if (numSites <= 0 || numClasses <= 0) {
            throw new IllegalArgumentException("need at least one site and one class");
        }
        if (!(alpha > 0)) {
            throw new IllegalArgumentException("alpha must be positive: " + alpha);
        }
        if ((long) minPerSite * numSites > labels.length) {
            throw new IllegalArgumentException(
                    labels.length
                            + " examples cannot give "
                            + numSites
                            + " sites "
                            + minPerSite
                            + " each");
        }
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < numClasses; c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < labels.length; i++) {
            int y = labels[i];
            if (y < 0 || y >= numClasses) {
                throw new IllegalArgumentException("label " + y + " at " + i + " is out of range");
            }
            byClass.get(y).add(i);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            int[] site = new int[labels.length];
            int[] sizes = new int[numSites];
            for (int c = 0; c < numClasses; c++) {
                int[] members = byClass.get(c).stream().mapToInt(Integer::intValue).toArray();
                Sampling.shuffle(members, rnd);
                double[] p = Dirichlet.symmetric(alpha, numSites, rnd);
                int start = 0;
                double cumulative = 0;
                for (int s = 0; s < numSites; s++) {
                    cumulative += p[s];
                    int end =
                            s == numSites - 1
                                    ? members.length
                                    : (int)
                                            Math.min(
                                                    members.length,
                                                    Math.round(cumulative * members.length));
                    for (int j = start; j < end; j++) {
                        site[members[j]] = s;
                    }
                    sizes[s] += Math.max(0, end - start);
                    start = Math.max(start, end);
                }
            }
            boolean ok = true;
            for (int n : sizes) {
                ok &= n >= minPerSite;
            }
            if (ok) {
                int[][] out = new int[numSites][];
                int[] fill = new int[numSites];
                for (int s = 0; s < numSites; s++) {
                    out[s] = new int[sizes[s]];
                }
                for (int i = 0; i < labels.length; i++) {
                    out[site[i]][fill[site[i]]++] = i;
                }
                return out;
            }
        }
        throw new IllegalStateException(
                "no Dirichlet("
                        + alpha
                        + ") partition gave every site "
                        + minPerSite
                        + " examples");
    }

    /** Per-site label histograms of a partition. */
    public static int[][] labelCounts(int[][] partition, int[] labels, int numClasses) {
        int[][] counts = new int[partition.length][numClasses];
        for (int s = 0; s < partition.length; s++) {
            for (int i : partition[s]) {
                counts[s][labels[i]]++;
            }
        }
        return counts;
    }
}
