package io.fedstream.job;

import io.fedstream.aggregation.StalenessFunction;
import io.fedstream.aggregation.round.RoundRules;
import java.io.Serializable;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * When a round closes and how its updates are weighted: a plain value built from the job's
 * configuration, so operators and tests share one definition.
 *
 * @param quorum a round closes as soon as it holds this many updates
 * @param timeout deadline of a round, from its first update
 * @param minUpdates fewest updates a round closes with at its deadline
 * @param staleness the discount f(s)
 * @param maxStaleness updates staler than this are rejected
 * @param serverLearningRate η
 * @param rule the aggregation rule: {@code fedavg} (a running sum) or a robust rule of {@link
 *     io.fedstream.aggregation.robust.RobustRules} (which holds the round's updates in state)
 * @param ruleParams the rule's parameters
 * @param normalizeByExamples the denominator of FedAvg: false, Σ wᵢ (the weights, so a discount
 *     that every update of a round shares cancels out: a round of one stale update moves the model
 *     as far as a fresh one); true, Σ nᵢ (the examples, as FedBuff divides by the buffer size: a
 *     stale round moves the model less). Recorded in the manifest as {@code
 *     staleness_normalization=examples}; absent means weights.
 */
public record RoundPolicy(
        int quorum,
        Duration timeout,
        int minUpdates,
        StalenessFunction staleness,
        long maxStaleness,
        double serverLearningRate,
        String rule,
        Map<String, String> ruleParams,
        boolean normalizeByExamples)
        implements Serializable {

    /** The rule name in the manifest of a DP-FedAvg version (a federation with central DP). */
    public static final String DP_RULE = "dp-fedavg";

    /** The manifest key of {@link #normalizeByExamples()}. */
    public static final String NORMALIZATION = "staleness_normalization";

    /** A policy that normalizes by the weights (as every version before the option). */
    public RoundPolicy(
            int quorum,
            Duration timeout,
            int minUpdates,
            StalenessFunction staleness,
            long maxStaleness,
            double serverLearningRate,
            String rule,
            Map<String, String> ruleParams) {
        this(
                quorum,
                timeout,
                minUpdates,
                staleness,
                maxStaleness,
                serverLearningRate,
                rule,
                ruleParams,
                false);
    }

    public RoundPolicy {
        // RoundRules checks quorum, min-updates, timeout and staleness.max (its messages)
        new RoundRules(quorum, timeout.toMillis(), minUpdates, maxStaleness);
        ruleParams = ruleParams == null ? Map.of() : new java.util.TreeMap<>(ruleParams);
        robustRule(rule, ruleParams); // fails early on a bad configuration
        if (!(serverLearningRate > 0) || Double.isInfinite(serverLearningRate)) {
            throw new IllegalArgumentException(
                    "server learning rate must be positive: " + serverLearningRate);
        }
    }

    /** A policy with plain FedAvg as its rule. */
    public RoundPolicy(
            int quorum,
            Duration timeout,
            int minUpdates,
            StalenessFunction staleness,
            long maxStaleness,
            double serverLearningRate) {
        this(
                quorum,
                timeout,
                minUpdates,
                staleness,
                maxStaleness,
                serverLearningRate,
                "fedavg",
                Map.of());
    }

    /** The admission and closing rules of this policy ({@link RoundRules}). */
    public RoundRules rules() {
        return new RoundRules(quorum, timeout.toMillis(), minUpdates, maxStaleness);
    }

    /** Whether the rule is FedAvg, aggregated as a running sum without keeping updates. */
    public boolean streaming() {
        return rule.equals(io.fedstream.aggregation.robust.WeightedMean.NAME);
    }

    /** Whether the rule is a running sum (FedAvg and norm clipping) rather than held updates. */
    public boolean accumulates() {
        return streaming() || rule.equals(io.fedstream.aggregation.robust.NormClipping.NAME);
    }

    /** The robust rule, for {@link #streaming()} false. */
    public io.fedstream.aggregation.robust.RobustRule robustRule() {
        return robustRule(rule, ruleParams);
    }

    private static io.fedstream.aggregation.robust.RobustRule robustRule(
            String rule, Map<String, String> params) {
        return io.fedstream.aggregation.robust.RobustRules.of(rule, params);
    }

    /** The FedAvg weight of an update: examples × f(staleness). */
    public double weight(long numExamples, long stalenessOfUpdate) {
        return numExamples * staleness.apply(stalenessOfUpdate);
    }

    /** Everything needed to recompute a version, as recorded in its manifest. */
    public Map<String, String> describe() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("server_learning_rate", Double.toString(serverLearningRate));
        m.put("staleness", staleness.describe());
        m.put("staleness_max", Long.toString(maxStaleness));
        m.put("round_quorum", Integer.toString(quorum));
        m.put("round_timeout_ms", Long.toString(timeout.toMillis()));
        m.put("round_min_updates", Integer.toString(minUpdates));
        if (normalizeByExamples) {
            m.put(NORMALIZATION, "examples");
        }
        m.put(
                "accumulation",
                streaming() ? "float64, in manifest order" : "float64, sorted by update id");
        return m;
    }
}
