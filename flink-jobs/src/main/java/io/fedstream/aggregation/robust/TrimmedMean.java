package io.fedstream.aggregation.robust;

import java.util.List;
import java.util.Map;

/**
 * Coordinate-wise trimmed mean (Yin, Chen, Ramchandran, Bartlett 2018, "Byzantine-robust
 * distributed learning: towards optimal statistical rates", ICML): for every element, the b = ⌊β·k⌋
 * largest and the b smallest of the k values are dropped and the remaining k − 2b are averaged
 * (unweighted, in float64, summed in ascending order).
 *
 * <p>Parameter {@code beta} in [0, 0.5): the fraction trimmed from each end. It must be at least
 * the fraction of updates that may be malicious; β = 0 is the unweighted mean. b is computed as
 * ⌊β·k + 1e-9⌋ so that, e.g., β = 0.29 and k = 100 trim 29 rather than 28 (0.29·100 is
 * 28.999999999999996 in binary floating point). As 2b &lt; k, at least one value always remains.
 *
 * <p>Weights are ignored, as in Yin et al. (a weighted variant would let a site inflate its example
 * count); filter updates that are too stale before this rule.
 *
 * <p>Memory: all k updates at once (read in place) plus a k-element scratch array and the float64
 * result. Time O(d·k·log k) for d elements (each element's k values are sorted).
 */
public final class TrimmedMean implements RobustRule {
    public static final String NAME = "trimmed-mean";

    private final double beta;

    public TrimmedMean(double beta) {
        if (!(beta >= 0 && beta < 0.5)) {
            throw new IllegalArgumentException("trimmed-mean needs 0 <= beta < 0.5, not " + beta);
        }
        this.beta = beta;
    }

    public double beta() {
        return beta;
    }

    /** b = ⌊β·k⌋, the count dropped from each end for k updates. */
    public int trimmed(int k) {
        return (int) Math.floor(beta * k + 1e-9);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, String> parameters() {
        return Updates.parameters(Map.of("beta", Double.toString(beta)));
    }

    @Override
    public boolean needsAllUpdates() {
        return true;
    }

    @Override
    public double[][] aggregate(List<WeightedDelta> updates) {
        int k = updates.size();
        int b = trimmed(k);
        int kept = k - 2 * b;
        return Updates.perCoordinate(
                updates,
                sorted -> {
                    double s = 0;
                    for (int j = b; j < k - b; j++) {
                        s += sorted[j];
                    }
                    return s / kept;
                });
    }

    @Override
    public String toString() {
        return describe();
    }
}
