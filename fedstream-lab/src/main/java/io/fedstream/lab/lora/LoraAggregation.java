package io.fedstream.lab.lora;

import java.util.List;

/**
 * A way to aggregate the LoRA factors of one round, one pair at a time.
 *
 * <h2>Why it matters</h2>
 *
 * A site's adapter changes the model by s·Bᵢ·Aᵢ; the FedAvg of those changes is s·M with M = Σ
 * wᵢ·Bᵢ·Aᵢ / Σ wᵢ. Averaging the factors separately (what most federated LoRA systems do) gives
 * s·B̄·Ā = s·(Σ wᵢBᵢ)(Σ wⱼAⱼ)/W², which adds the cross terms Bᵢ·Aⱼ (i ≠ j) that no site trained.
 * The strategies differ in how they avoid that: {@link FactorAveraging} does not; {@link
 * FrozenAAveraging} removes the cross terms by never training A; {@link ProductAveraging} averages
 * the products and factors the result back to a rank; {@link StackedLora} keeps all the products
 * side by side (rank k·r).
 *
 * <h2>Contract</h2>
 *
 * Input: for each site, the full values of A and B (not deltas), and its weight; the list must not
 * be empty and is not modified. Sums run in the order of the list, so the same list gives the same
 * bits ({@link LoraRound} sorts by update id first). Elements must be finite (the job validates
 * updates before aggregation). The scaling s = α/r is the same for every site and factors out; a
 * strategy that changes the rank returns factors whose plain product B'·A' approximates M, so the
 * caller must keep the scale the model applies unchanged (α' = α·r'/r) or fold it into B'.
 *
 * <p>Output: the new A and B in float64, and a {@link PairReport}. No Flink types: the job calls
 * this from its aggregation operator.
 */
public interface LoraAggregation {

    /** A short configuration name, e.g. {@code product-svd}. */
    String name();

    /** The parameters for {@link #describe()}, e.g. {@code rank=16}; empty if none. */
    default String parameters() {
        return "";
    }

    /** The rank of the factors {@link #aggregate} returns for this pair and number of sites. */
    int outputRank(LoraPair pair, int updates);

    /** The new factors of one pair. */
    PairResult aggregate(LoraPair pair, List<LoraFactors> updates);

    /** E.g. {@code product-svd(rank=16,split=balanced)}. */
    default String describe() {
        String p = parameters();
        return p.isEmpty() ? name() : name() + "(" + p + ")";
    }

    /** Checks that updates is non-empty and every factor has the pair's size; returns Σ wᵢ. */
    static double checkedTotalWeight(LoraPair pair, List<LoraFactors> updates) {
        if (updates == null || updates.isEmpty()) {
            throw new IllegalArgumentException("pair " + pair.module() + ": no updates");
        }
        double total = 0;
        for (int i = 0; i < updates.size(); i++) {
            LoraFactors f = updates.get(i);
            if (f.a().length != pair.aSize()) {
                throw new IllegalArgumentException(
                        "pair "
                                + pair.module()
                                + ", update #"
                                + i
                                + ": lora_A has "
                                + f.a().length
                                + " elements, expected "
                                + pair.rank()
                                + "×"
                                + pair.in());
            }
            if (f.b().length != pair.bSize()) {
                throw new IllegalArgumentException(
                        "pair "
                                + pair.module()
                                + ", update #"
                                + i
                                + ": lora_B has "
                                + f.b().length
                                + " elements, expected "
                                + pair.out()
                                + "×"
                                + pair.rank());
            }
            total += f.weight();
        }
        if (Double.isInfinite(total)) {
            throw new IllegalArgumentException(
                    "pair " + pair.module() + ": total weight overflows");
        }
        return total;
    }
}
