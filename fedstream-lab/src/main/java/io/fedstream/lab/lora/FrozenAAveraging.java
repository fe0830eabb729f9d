package io.fedstream.lab.lora;

import java.util.List;
import java.util.Locale;

/**
 * FFA-LoRA (Sun, Li, Li, Ding; "Improving LoRA in privacy-preserving federated learning", ICLR
 * 2024): A stays at its initial value on every site and only B is trained, so the sites' products
 * share the right factor and the mean of the products factors exactly: Σ wᵢ·Bᵢ·A / W = B̄·A. The
 * result is A (unchanged) and B̄ = Σ wᵢBᵢ / W, with no cross terms and no rank growth.
 *
 * <p>Requires every A to be bit-for-bit identical (the sites must freeze lora_A, and the job must
 * not perturb it, e.g. with DP noise on A); otherwise {@link #aggregate} fails, naming the first
 * update and element that differ, rather than silently returning the factor average.
 *
 * <p>Time O(k·r·in) for the check plus O(k·r·out) for the mean; the report's ‖M‖_F = ‖B̄A‖_F costs
 * O((out + in)·r²) more. The reported relative error is 0: the result is exact by construction (in
 * float64, to rounding).
 */
public final class FrozenAAveraging implements LoraAggregation {
    public static final String NAME = "frozen-a";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int outputRank(LoraPair pair, int updates) {
        return pair.rank();
    }

    @Override
    public PairResult aggregate(LoraPair pair, List<LoraFactors> updates) {
        double total = LoraAggregation.checkedTotalWeight(pair, updates);
        float[] a0 = updates.get(0).a();
        for (int u = 1; u < updates.size(); u++) {
            float[] a = updates.get(u).a();
            for (int i = 0; i < a0.length; i++) {
                if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(a0[i])) {
                    throw new IllegalArgumentException(
                            String.format(
                                    Locale.ROOT,
                                    "pair %s: frozen-A averaging (FFA-LoRA) needs every site to"
                                            + " keep lora_A at its initial value, but update #%d"
                                            + " differs from update #0 at A[%d][%d] (%s vs %s);"
                                            + " freeze lora_A on the sites or use another"
                                            + " strategy",
                                    pair.module(),
                                    u,
                                    i / pair.in(),
                                    i % pair.in(),
                                    Float.toString(a[i]),
                                    Float.toString(a0[i])));
                }
            }
        }
        double[] a = new double[a0.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = a0[i];
        }
        double[] b = new double[pair.bSize()];
        for (LoraFactors f : updates) {
            FactorAveraging.accumulate(b, f.b(), f.weight());
        }
        FactorAveraging.divide(b, total);
        int r = pair.rank();
        double[] l = new double[pair.out() * r];
        double[] rt = new double[pair.in() * r];
        Factored.putB(l, pair.out(), 0, b, r, 1.0);
        Factored.putA(rt, pair.in(), 0, a, r);
        double norm = Factored.norm(l, pair.out(), rt, pair.in(), r);
        PairReport report =
                new PairReport(pair.module(), describe(), updates.size(), r, r, norm, 0.0, null);
        return new PairResult(a, b, r, report);
    }
}
