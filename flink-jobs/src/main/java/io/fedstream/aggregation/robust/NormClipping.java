package io.fedstream.aggregation.robust;

import io.fedstream.aggregation.LittleEndianFloats;
import java.util.List;
import java.util.Map;

/**
 * Norm clipping (Sun, Kairouz, Suresh, McMahan 2019, "Can you really backdoor federated learning?",
 * arXiv:1911.07963): every update is scaled by {@code cᵢ = min(1, maxNorm / ‖Δᵢ‖)}, the L2 norm
 * taken over all tensors together, so that no update has a norm above {@code maxNorm}; the result
 * is the weighted mean Σ wᵢ·cᵢ·Δᵢ / Σ wᵢ. Updates with a norm ≤ maxNorm are used unchanged.
 *
 * <p>Parameter {@code maxNorm} (&gt; 0, finite): the largest L2 norm an update may have. It bounds
 * the influence of any one update on the mean to {@code wᵢ·maxNorm / Σw}, which defeats
 * model-replacement "boosting" (scaling a malicious update up); it does not stop an attacker that
 * stays within the bound (e.g. a sign-flipped update clipped to maxNorm still pulls the mean the
 * wrong way). Pick it from the norms honest updates have (e.g. a quantile of recent rounds): too
 * small a bound slows honest training as well.
 *
 * <p>Memory: no more than FedAvg. cᵢ depends on update i alone, so the job can keep a running sum:
 * {@link #accumulate} adds wᵢ·cᵢ·Δᵢ to float64 sums, the caller adds wᵢ to its total weight. One
 * pass over each update to get its norm and one to add it: time O(k·d).
 */
public final class NormClipping implements RobustRule {
    public static final String NAME = "norm-clipping";

    private final double maxNorm;

    public NormClipping(double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException(
                    "norm-clipping needs maxNorm > 0 and finite, not " + maxNorm);
        }
        this.maxNorm = maxNorm;
    }

    public double maxNorm() {
        return maxNorm;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, String> parameters() {
        return Updates.parameters(Map.of("maxNorm", Double.toString(maxNorm)));
    }

    @Override
    public boolean needsAllUpdates() {
        return false;
    }

    /** The factor cᵢ = min(1, maxNorm / ‖Δᵢ‖) the update is scaled by; 1 for a zero update. */
    public double clipFactor(WeightedDelta update) {
        double norm = Math.sqrt(update.squaredNorm());
        return norm > maxNorm ? maxNorm / norm : 1.0;
    }

    /**
     * Adds wᵢ·cᵢ·Δᵢ to {@code sums} (one float64 array per tensor) and returns wᵢ, which the caller
     * adds to its Σ wᵢ: the streaming form of this rule. The result is {@code sums / Σ wᵢ} (e.g.
     * through {@link io.fedstream.aggregation.WeightedAccumulator#WeightedAccumulator( double[][],
     * double, int)}); its bits depend on the order updates are added in.
     */
    public double accumulate(double[][] sums, WeightedDelta update) {
        if (update.tensorCount() != sums.length) {
            throw new IllegalArgumentException(
                    "update "
                            + update.id()
                            + " has "
                            + update.tensorCount()
                            + " tensors, expected "
                            + sums.length);
        }
        double w = update.weight() * clipFactor(update);
        for (int t = 0; t < sums.length; t++) {
            LittleEndianFloats.accumulate(sums[t], update.tensors()[t], update.kinds()[t], w);
        }
        return update.weight();
    }

    @Override
    public double[][] aggregate(List<WeightedDelta> updates) {
        List<WeightedDelta> sorted = Updates.canonical(updates);
        double[] scale = new double[sorted.size()];
        for (int j = 0; j < scale.length; j++) {
            scale[j] = clipFactor(sorted.get(j));
        }
        return Updates.weightedMean(sorted, scale);
    }

    @Override
    public String toString() {
        return describe();
    }
}
