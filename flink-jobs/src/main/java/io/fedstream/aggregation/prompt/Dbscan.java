package io.fedstream.aggregation.prompt;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;

/**
 * DBSCAN (Ester et al. 1996) under cosine distance. A point with at least {@code minPts} points
 * (itself included) within {@code eps} is a core point; clusters are the core points connected
 * through such neighbourhoods plus the border points they reach; everything else is noise. Points
 * are visited in index order, so the labels are deterministic.
 *
 * <p>Kept, not Commons Math's {@code DBSCANClusterer}: commons-math3 (2.2 MB) has had no release
 * since 3.6.1 (2016) and Math 4 keeps clustering in a beta "legacy" module, for 50 lines that
 * SklearnClustersTest checks against scikit-learn's DBSCAN.
 */
public final class Dbscan {
    /** Label of a point that belongs to no cluster. */
    public static final int NOISE = -1;

    private Dbscan() {}

    /**
     * @return a cluster label per point, 0, 1, ... in order of discovery, or {@link #NOISE}
     */
    public static int[] cluster(List<float[]> points, double eps, int minPts) {
        if (minPts < 1) {
            throw new IllegalArgumentException("minPts must be >= 1: " + minPts);
        }
        if (!(eps >= 0)) {
            throw new IllegalArgumentException("eps must be >= 0: " + eps);
        }
        int n = points.size();
        int[] label = new int[n];
        Arrays.fill(label, Integer.MIN_VALUE); // unvisited
        int next = 0;
        for (int i = 0; i < n; i++) {
            if (label[i] != Integer.MIN_VALUE) {
                continue;
            }
            List<Integer> seeds = neighbours(points, i, eps);
            if (seeds.size() < minPts) {
                label[i] = NOISE;
                continue;
            }
            int c = next++;
            label[i] = c;
            Deque<Integer> queue = new ArrayDeque<>(seeds);
            while (!queue.isEmpty()) {
                int q = queue.poll();
                if (label[q] == NOISE) {
                    label[q] = c; // a border point
                }
                if (label[q] != Integer.MIN_VALUE) {
                    continue;
                }
                label[q] = c;
                List<Integer> more = neighbours(points, q, eps);
                if (more.size() >= minPts) {
                    queue.addAll(more);
                }
            }
        }
        return label;
    }

    private static List<Integer> neighbours(List<float[]> points, int i, double eps) {
        List<Integer> out = new ArrayList<>();
        for (int j = 0; j < points.size(); j++) {
            if (Vectors.cosineDistance(points.get(i), points.get(j)) <= eps) {
                out.add(j);
            }
        }
        return out;
    }
}
