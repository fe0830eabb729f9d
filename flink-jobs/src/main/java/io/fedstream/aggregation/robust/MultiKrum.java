package io.fedstream.aggregation.robust;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Multi-Krum (Blanchard, El Mhamdi, Guerraoui, Stainer 2017, "Machine learning with adversaries:
 * Byzantine tolerant gradient descent", NeurIPS; El Mhamdi, Guerraoui, Rouault 2018, "The hidden
 * vulnerability of distributed learning in Byzantium", ICML). Every update, flattened over all
 * tensors, gets the Krum score: the sum of its squared L2 distances to its k − f − 2 nearest other
 * updates. The m updates with the lowest scores are selected (ties broken by id) and the result is
 * their weighted mean Σ wᵢΔᵢ / Σ wᵢ. Scores are computed once (as in Blanchard et al.), not
 * recomputed after each selection.
 *
 * <p>Parameters: {@code f} ≥ 0, the number of malicious updates tolerated; the rule needs k &gt; 2f
 * + 2 updates and fails otherwise. {@code m} ≥ 1, how many updates are averaged; m = 1 is Krum, m =
 * k − f the usual Multi-Krum, m = k plain FedAvg. m &gt; k fails.
 *
 * <p>Weights play no part in the scores (distances are between unweighted deltas); they are used
 * only in the mean of the selected updates, so a selected site that claims many examples still
 * counts for more, as in FedAvg.
 *
 * <p>Krum is known to be beaten by attacks that stay inside the spread of honest updates, e.g. "a
 * little is enough" (Baruch et al. 2019): malicious updates placed near the honest mean get the
 * best scores.
 *
 * <p>Memory: all k updates at once (read in place), the k×k distance matrix and the float64 result.
 * Time O(k²·d) for the k(k−1)/2 distances over d elements, plus O(k²·log k) for the scores.
 */
public final class MultiKrum implements RobustRule {
    public static final String NAME = "multi-krum";

    private final int f;
    private final int m;

    public MultiKrum(int f, int m) {
        if (f < 0) {
            throw new IllegalArgumentException("multi-krum needs f >= 0, not " + f);
        }
        if (m < 1) {
            throw new IllegalArgumentException("multi-krum needs m >= 1, not " + m);
        }
        this.f = f;
        this.m = m;
    }

    public int f() {
        return f;
    }

    public int m() {
        return m;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, String> parameters() {
        return Updates.parameters(Map.of("f", Integer.toString(f), "m", Integer.toString(m)));
    }

    @Override
    public boolean needsAllUpdates() {
        return true;
    }

    /**
     * The scores and the selection, for manifests and audits.
     *
     * @param ids the update ids in canonical (id) order
     * @param scores the Krum score of each, in the same order
     * @param selected the ids of the m selected updates, in id order
     */
    public record Selection(List<String> ids, double[] scores, List<String> selected) {}

    /** Scores the updates and selects the m best. */
    public Selection select(List<WeightedDelta> updates) {
        List<WeightedDelta> sorted = Updates.canonical(updates);
        double[] scores = scores(sorted);
        int[] chosen = best(scores);
        List<String> ids = new ArrayList<>(sorted.size());
        for (WeightedDelta u : sorted) {
            ids.add(u.id());
        }
        List<String> selected = new ArrayList<>(m);
        for (int j : chosen) {
            selected.add(sorted.get(j).id());
        }
        return new Selection(List.copyOf(ids), scores, List.copyOf(selected));
    }

    @Override
    public double[][] aggregate(List<WeightedDelta> updates) {
        List<WeightedDelta> sorted = Updates.canonical(updates);
        int[] chosen = best(scores(sorted));
        List<WeightedDelta> picked = new ArrayList<>(m);
        for (int j : chosen) {
            picked.add(sorted.get(j));
        }
        return Updates.weightedMean(picked, null);
    }

    /** The Krum score of each update, the list in canonical order; checks k against f and m. */
    private double[] scores(List<WeightedDelta> sorted) {
        int k = sorted.size();
        if (k <= 2L * f + 2) {
            throw new IllegalArgumentException(
                    "multi-krum with f="
                            + f
                            + " needs more than 2f+2="
                            + (2L * f + 2)
                            + " updates, got "
                            + k);
        }
        if (m > k) {
            throw new IllegalArgumentException(
                    "multi-krum with m=" + m + " needs at least m updates, got " + k);
        }
        double[][] dist = new double[k][k];
        for (int a = 0; a < k; a++) {
            for (int b = a + 1; b < k; b++) {
                double d = Updates.squaredDistance(sorted.get(a), sorted.get(b));
                dist[a][b] = d;
                dist[b][a] = d;
            }
        }
        int neighbours = k - f - 2;
        double[] scores = new double[k];
        double[] others = new double[k - 1];
        for (int a = 0; a < k; a++) {
            int n = 0;
            for (int b = 0; b < k; b++) {
                if (b != a) {
                    others[n++] = dist[a][b];
                }
            }
            Arrays.sort(others);
            double s = 0;
            for (int j = 0; j < neighbours; j++) {
                s += others[j];
            }
            scores[a] = s;
        }
        return scores;
    }

    /** The indices of the m lowest scores (ties to the lower index, i.e. id), ascending. */
    private int[] best(double[] scores) {
        Integer[] order = new Integer[scores.length];
        for (int j = 0; j < order.length; j++) {
            order[j] = j;
        }
        Arrays.sort(
                order,
                (x, y) -> {
                    int c = Double.compare(scores[x], scores[y]);
                    return c != 0 ? c : Integer.compare(x, y);
                });
        int[] chosen = new int[m];
        for (int j = 0; j < m; j++) {
            chosen[j] = order[j];
        }
        Arrays.sort(chosen);
        return chosen;
    }

    @Override
    public String toString() {
        return describe();
    }
}
