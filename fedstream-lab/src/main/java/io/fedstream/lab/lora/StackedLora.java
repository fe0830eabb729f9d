package io.fedstream.lab.lora;

import java.util.List;

/**
 * Stacking (FLoRA: Wang et al., "FLoRA: federated fine-tuning large language models with
 * heterogeneous low-rank adaptations", NeurIPS 2024): the k sites' factors side by side, B' = [p₁B₁
 * … p_kB_k] (out × k·r) and A' = [A₁; …; A_k] (k·r × in), pᵢ = wᵢ / Σ w, so that B'·A' = Σ pᵢBᵢAᵢ =
 * M exactly, with no truncation. The weight goes on B, so A' rows keep the sites' scale.
 *
 * <p>The rank grows with the number of sites: FLoRA merges s·B'·A' into the frozen weight and
 * starts a fresh adapter each round, which this class leaves to the caller (the shapes no longer
 * match the federation's spec). Sites appear in list order. Time and memory O(k·r·(out + in)). The
 * reported error is 0 (exact by construction); ‖M‖ is not computed (NaN).
 */
public final class StackedLora implements LoraAggregation {
    public static final String NAME = "stacked";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int outputRank(LoraPair pair, int updates) {
        return Math.multiplyExact(pair.rank(), updates);
    }

    @Override
    public PairResult aggregate(LoraPair pair, List<LoraFactors> updates) {
        double total = LoraAggregation.checkedTotalWeight(pair, updates);
        int r = pair.rank();
        int k = updates.size();
        int m = outputRank(pair, k);
        int out = pair.out();
        int in = pair.in();
        double[] a = new double[Math.multiplyExact(m, in)];
        double[] b = new double[Math.multiplyExact(out, m)];
        for (int u = 0; u < k; u++) {
            LoraFactors f = updates.get(u);
            double p = f.weight() / total;
            float[] fa = f.a();
            int base = u * r * in;
            for (int i = 0; i < fa.length; i++) {
                a[base + i] = fa[i];
            }
            float[] fb = f.b();
            for (int i = 0; i < out; i++) {
                for (int j = 0; j < r; j++) {
                    b[i * m + u * r + j] = p * fb[i * r + j];
                }
            }
        }
        PairReport report =
                new PairReport(pair.module(), describe(), k, r, m, Double.NaN, 0.0, null);
        return new PairResult(a, b, m, report);
    }
}
