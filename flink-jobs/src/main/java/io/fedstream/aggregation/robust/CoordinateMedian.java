package io.fedstream.aggregation.robust;

import java.util.List;

/**
 * Coordinate-wise median (Yin, Chen, Ramchandran, Bartlett 2018, "Byzantine-robust distributed
 * learning: towards optimal statistical rates", ICML): every element of the result is the median of
 * that element over the k updates; for even k the mean of the two middle values, computed in
 * float64.
 *
 * <p>Weights are ignored: this is the unweighted median of Yin et al., the standard form, whose
 * robustness guarantee (any fewer than half of the updates corrupted) is per update. A weighted
 * median would let one site that claims many examples decide the result alone, so it would need the
 * weights themselves to be trusted, so this rule is deliberately unweighted. Staleness is therefore
 * not discounted either: filter updates that are too stale before this rule.
 *
 * <p>No parameters. Memory: all k updates at once (read in place) plus a k-element scratch array
 * and the float64 result. Time O(d·k·log k) for d elements: the k values of each element are
 * sorted, which also makes the result independent of the update order and handles ties trivially.
 */
public final class CoordinateMedian implements RobustRule {
    public static final String NAME = "median";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean needsAllUpdates() {
        return true;
    }

    @Override
    public double[][] aggregate(List<WeightedDelta> updates) {
        return Updates.perCoordinate(updates, CoordinateMedian::median);
    }

    private static double median(float[] sorted) {
        int k = sorted.length;
        return (k & 1) == 1
                ? sorted[k / 2]
                : ((double) sorted[k / 2 - 1] + (double) sorted[k / 2]) / 2;
    }

    @Override
    public String toString() {
        return describe();
    }
}
