package io.fedstream.aggregation.robust;

import io.fedstream.aggregation.WeightedAccumulator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A Byzantine-robust aggregation rule: turns the updates of one round into the delta the server
 * applies to the global model. Build one with {@link RobustRules#of}.
 *
 * <h2>Result</h2>
 *
 * {@link #aggregate} returns the aggregated delta per tensor in float64, unrounded. To get the new
 * model with a single rounding to float32 per element, as the FedAvg path does, wrap it: {@code new
 * WeightedAccumulator(delta, 1.0, k).applyTo(base, serverLearningRate)} computes {@code (float)
 * (base + η · delta)} (see {@link WeightedAccumulator#applyTo}).
 *
 * <h2>Determinism</h2>
 *
 * The result depends only on the set of updates, never on the order of the list: every rule first
 * sorts the updates by {@link WeightedDelta#id()} ({@link String#compareTo}, locale free) and
 * rejects duplicate ids, so every floating-point sum runs in the same order; per-coordinate rules
 * also sort the k values of each coordinate. The code uses only IEEE-754 basic operations and
 * {@link Math#sqrt} (correctly rounded; Java 17 floating point is strict everywhere), no {@code
 * Math.fma}, no parallelism, so an audit that holds the same updates recomputes the same bits on
 * any JVM.
 *
 * <h2>Memory</h2>
 *
 * Updates are read in place from their little-endian bytes; no rule copies an update into a float
 * array. Every rule allocates the float64 result (8 bytes per model element). Whether a rule also
 * needs all updates of the round at once is told by {@link #needsAllUpdates()}; each class
 * documents its extra memory and time.
 */
public interface RobustRule {

    /** The rule's configuration name, as accepted by {@link RobustRules#of}. */
    String name();

    /**
     * The parameters, sorted by key, values in a form {@link RobustRules#of} parses back; none by
     * default.
     */
    default Map<String, String> parameters() {
        return Map.of();
    }

    /**
     * The aggregated delta, one float64 array per tensor, for updates that all have the same tensor
     * count and element counts (else {@link IllegalArgumentException}). The list must not be empty;
     * it is not modified.
     */
    double[][] aggregate(List<WeightedDelta> updates);

    /**
     * Whether the rule must see every update of the round at once (the job keeps them in keyed
     * state) rather than a running sum of one model's size.
     */
    boolean needsAllUpdates();

    /** A compact description for manifests, e.g. {@code trimmed-mean(beta=0.2)}. */
    default String describe() {
        Map<String, String> p = parameters();
        if (p.isEmpty()) {
            return name();
        }
        return p.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(",", name() + "(", ")"));
    }
}
