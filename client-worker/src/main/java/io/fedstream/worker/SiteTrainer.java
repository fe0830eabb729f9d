package io.fedstream.worker;

import io.fedstream.schemas.FederationSpec;
import java.util.Map;

/**
 * What a site does with a global adapter: train it on local data and say how good it is. The
 * worker's Kafka loop ({@link Worker}) is independent of the model; implementations own the model,
 * the data and the native resources (close them).
 */
public interface SiteTrainer extends AutoCloseable {
    /** Metric: mean training loss over a round's steps (NaN without steps). */
    String TRAIN_LOSS = "train_loss";

    /** Metric: optimizer steps in a round. */
    String STEPS = "steps";

    /** Metric: wall-clock milliseconds of a round's training. */
    String TRAIN_MILLIS = "train_millis";

    /** Metric: L2 norm of a round's delta over all tensors. */
    String DELTA_NORM = "delta_norm";

    /** The adapter layout this trainer exchanges, as the federation's contract. */
    FederationSpec federationSpec(String federationId, long seed);

    /**
     * Trains locally, starting from the global adapter {@code global} (name → values, every tensor
     * of the spec), and returns the delta trained − global with the number of examples used.
     */
    TrainResult train(Map<String, float[]> global, long baseVersion);

    /** Held-out evaluation of an adapter on this site's evaluation data. */
    EvalResult evaluate(Map<String, float[]> adapter);

    @Override
    void close();

    /** A local round's outcome. {@code delta} has one entry per tensor of the spec. */
    record TrainResult(Map<String, float[]> delta, long numExamples, Map<String, Double> metrics) {}

    /** Held-out quality of an adapter: mean loss and accuracy over {@code examples} examples. */
    record EvalResult(double loss, double accuracy, long examples) {}
}
