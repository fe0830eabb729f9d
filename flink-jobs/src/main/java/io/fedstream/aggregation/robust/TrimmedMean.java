package io.fedstream.aggregation.robust;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

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
        SortedMap<String, String> p = new TreeMap<>();
        p.put("beta", Double.toString(beta));
        return Collections.unmodifiableSortedMap(p);
    }

    @Override
    public boolean needsAllUpdates() {
        return true;
    }

    @Override
    public double[][] aggregate(List<WeightedDelta> updates) {
        List<WeightedDelta> sorted = Updates.canonical(updates);
        int[] sizes = Updates.sizes(sorted);
        int k = sorted.size();
        int b = trimmed(k);
        int kept = k - 2 * b;
        WeightedDelta[] us = sorted.toArray(new WeightedDelta[0]);
        float[] column = new float[k];
        double[][] out = new double[sizes.length][];
        for (int t = 0; t < sizes.length; t++) {
            double[] o = new double[sizes[t]];
            for (int i = 0; i < o.length; i++) {
                for (int j = 0; j < k; j++) {
                    column[j] = us[j].get(t, i);
                }
                Arrays.sort(column);
                double s = 0;
                for (int j = b; j < k - b; j++) {
                    s += column[j];
                }
                o[i] = s / kept;
            }
            out[t] = o;
        }
        return out;
    }

    @Override
    public String toString() {
        return describe();
    }
}
