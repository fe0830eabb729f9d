package io.fedstream.lab.lora;

/**
 * What a strategy did to one pair, for the round's manifest and logs.
 *
 * <p>M = Σ wᵢ·Bᵢ·Aᵢ / Σ wᵢ is the average of the sites' products (the FedAvg of their ΔW / s), the
 * reference every strategy is measured against; {@code relativeError} is ‖B'·A' − M‖_F / ‖M‖_F for
 * the returned factors (0 when M = 0 and the result is exact). Strategies that do not measure it
 * report {@link Double#NaN}; see each class.
 *
 * @param module the pair
 * @param strategy the strategy's {@link LoraAggregation#describe()}
 * @param updates number of sites k
 * @param inputRank the rank of each site's factors
 * @param outputRank the rank of the returned factors
 * @param productNorm ‖M‖_F, or NaN if not computed
 * @param relativeError ‖B'·A' − M‖_F / ‖M‖_F, or NaN if not computed; for truncation, the discarded
 *     energy (Eckart–Young: √(Σ_{j>r} σ_j²) / ‖M‖_F)
 * @param singularValues the singular values of M, non-increasing, if the strategy computed them
 *     (else empty)
 */
public record PairReport(
        String module,
        String strategy,
        int updates,
        int inputRank,
        int outputRank,
        double productNorm,
        double relativeError,
        double[] singularValues) {

    public PairReport {
        singularValues = singularValues == null ? new double[0] : singularValues.clone();
    }

    @Override
    public double[] singularValues() {
        return singularValues.clone();
    }

    @Override
    public String toString() {
        return String.format(
                java.util.Locale.ROOT,
                "%s: %s, k=%d, r=%d -> %d, |M|=%.6g, rel.err=%.3g",
                module,
                strategy,
                updates,
                inputRank,
                outputRank,
                productNorm,
                relativeError);
    }
}
