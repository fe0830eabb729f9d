package io.fedstream.aggregation.robust;

import java.util.List;

/**
 * Plain FedAvg, Σ wᵢΔᵢ / Σ wᵢ (McMahan et al. 2017, "Communication-efficient learning of deep
 * networks from decentralized data"): not robust, a single update can move it arbitrarily far. It
 * is here as the baseline the robust rules are compared with.
 *
 * <p>Memory: the float64 result only; the job computes the same mean from a running sum ({@link
 * io.fedstream.aggregation.WeightedAccumulator}), so it does not need all updates at once. Time
 * O(k·d) for k updates of d elements. Sums run in id order here, in arrival order in the running
 * sum, so the two may differ in the last bits.
 */
public final class WeightedMean implements RobustRule {
    public static final String NAME = "fedavg";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean needsAllUpdates() {
        return false;
    }

    @Override
    public double[][] aggregate(List<WeightedDelta> updates) {
        return Updates.weightedMean(Updates.canonical(updates), null);
    }

    @Override
    public String toString() {
        return describe();
    }
}
