package io.fedstream.lab.lora;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Aggregates whole adapters: each {@link LoraPair} with a {@link LoraAggregation}, every other
 * tensor (heads, biases) with the weighted mean Σ wᵢxᵢ / Σ wᵢ in float64, as FedAvg does.
 *
 * <p>Updates are first sorted by id ({@link String#compareTo}) and duplicate ids rejected, so the
 * result depends only on the set of updates, never on their arrival order.
 */
public final class LoraRound {
    private LoraRound() {}

    /**
     * The new adapter of a round.
     *
     * @param tensors the new values per tensor, in the adapter's order, float64 unrounded
     * @param shapes their shapes (a pair's rank may differ from the input's, see {@link
     *     LoraAggregation#outputRank})
     * @param reports one per pair, in pair order
     * @param order the update ids in summation order
     */
    public record Result(
            double[][] tensors, int[][] shapes, List<PairReport> reports, List<String> order) {}

    public static Result aggregate(
            LoraAggregation strategy, LoraPairs pairs, List<LoraUpdate> updates) {
        Objects.requireNonNull(strategy, "strategy");
        Objects.requireNonNull(pairs, "pairs");
        List<LoraUpdate> sorted = canonical(updates);
        int n = pairs.tensorCount();
        for (LoraUpdate u : sorted) {
            if (u.tensors().length != n) {
                throw new IllegalArgumentException(
                        "update "
                                + u.id()
                                + " has "
                                + u.tensors().length
                                + " tensors, expected "
                                + n);
            }
            for (int t = 0; t < n; t++) {
                float[] x = Objects.requireNonNull(u.tensors()[t], "tensor");
                if (x.length != pairs.size(t)) {
                    throw new IllegalArgumentException(
                            "update "
                                    + u.id()
                                    + ": tensor "
                                    + pairs.name(t)
                                    + " has "
                                    + x.length
                                    + " elements, expected "
                                    + pairs.size(t));
                }
            }
        }
        List<String> order = sorted.stream().map(LoraUpdate::id).toList();
        double[][] tensors = new double[n][];
        int[][] shapes = new int[n][];
        List<PairReport> reports = new ArrayList<>();
        for (LoraPair pair : pairs.pairs()) {
            List<LoraFactors> factors = new ArrayList<>(sorted.size());
            for (LoraUpdate u : sorted) {
                factors.add(
                        new LoraFactors(
                                u.tensors()[pair.aIndex()],
                                u.tensors()[pair.bIndex()],
                                u.weight()));
            }
            PairResult r;
            try {
                r = strategy.aggregate(pair, factors);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        e.getMessage() + " (update #i is the i-th of " + order + ")", e);
            }
            tensors[pair.aIndex()] = r.a();
            tensors[pair.bIndex()] = r.b();
            shapes[pair.aIndex()] = new int[] {r.rank(), pair.in()};
            shapes[pair.bIndex()] = new int[] {pair.out(), r.rank()};
            reports.add(r.report());
        }
        double total = 0;
        for (LoraUpdate u : sorted) {
            total += u.weight();
        }
        for (int t : pairs.others()) {
            double[] s = new double[pairs.size(t)];
            for (LoraUpdate u : sorted) {
                FactorAveraging.accumulate(s, u.tensors()[t], u.weight());
            }
            FactorAveraging.divide(s, total);
            tensors[t] = s;
            shapes[t] = pairs.shape(t);
        }
        return new Result(tensors, shapes, List.copyOf(reports), order);
    }

    private static List<LoraUpdate> canonical(List<LoraUpdate> updates) {
        Objects.requireNonNull(updates, "updates");
        if (updates.isEmpty()) {
            throw new IllegalArgumentException("no updates to aggregate");
        }
        List<LoraUpdate> sorted = new ArrayList<>(updates);
        sorted.sort(Comparator.comparing(LoraUpdate::id));
        for (int j = 1; j < sorted.size(); j++) {
            if (sorted.get(j).id().equals(sorted.get(j - 1).id())) {
                throw new IllegalArgumentException(
                        "duplicate update id '" + sorted.get(j).id() + "'");
            }
        }
        return sorted;
    }
}
