package io.fedstream.lab.lora;

import java.util.List;

/**
 * The common behaviour (FedIT, Shepherd, most federated LoRA code): the weighted mean of the A's
 * and, separately, of the B's, Ā = Σ wᵢAᵢ / W and B̄ = Σ wᵢBᵢ / W, in float64 in list order.
 *
 * <p>The resulting update s·B̄·Ā is not the mean of the sites' updates s·M: B̄·Ā − M =
 * (1/W²)·Σ_{i,j} wᵢwⱼ·BᵢAⱼ − (1/W)·Σ wᵢBᵢAᵢ, the cross terms BᵢAⱼ no site trained. It is exact only
 * if all A's (or all B's) are equal. Kept as the baseline and for compatibility.
 *
 * <p>Time O(k·r·(out + in)), memory the two float64 results. With {@code measure}, the report also
 * carries ‖B̄Ā − M‖_F / ‖M‖_F, computed in the factored space at O((out + in)·(k + 1)²·r²) extra
 * ({@link LoraProducts#distanceToAverage}); otherwise NaN.
 */
public final class FactorAveraging implements LoraAggregation {
    public static final String NAME = "factor-mean";

    private final boolean measure;

    /** Without measuring the gap to the product average. */
    public FactorAveraging() {
        this(false);
    }

    /** With measure, each report carries the relative gap to the average product. */
    public FactorAveraging(boolean measure) {
        this.measure = measure;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String parameters() {
        return measure ? "measure=true" : "";
    }

    @Override
    public int outputRank(LoraPair pair, int updates) {
        return pair.rank();
    }

    @Override
    public PairResult aggregate(LoraPair pair, List<LoraFactors> updates) {
        double total = LoraAggregation.checkedTotalWeight(pair, updates);
        double[] a = new double[pair.aSize()];
        double[] b = new double[pair.bSize()];
        for (LoraFactors f : updates) {
            accumulate(a, f.a(), f.weight());
            accumulate(b, f.b(), f.weight());
        }
        divide(a, total);
        divide(b, total);
        double norm = Double.NaN;
        double error = Double.NaN;
        if (measure) {
            double[] d = LoraProducts.distanceToAverage(pair, updates, a, b, pair.rank());
            norm = d[1];
            error = LoraProducts.ratio(d[0], d[1]);
        }
        PairReport report =
                new PairReport(
                        pair.module(),
                        describe(),
                        updates.size(),
                        pair.rank(),
                        pair.rank(),
                        norm,
                        error,
                        null);
        return new PairResult(a, b, pair.rank(), report);
    }

    static void accumulate(double[] sum, float[] x, double w) {
        for (int i = 0; i < sum.length; i++) {
            sum[i] += w * x[i];
        }
    }

    static void divide(double[] sum, double total) {
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= total;
        }
    }
}
