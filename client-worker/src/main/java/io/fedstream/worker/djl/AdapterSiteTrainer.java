package io.fedstream.worker.djl;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.data.Sampling;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the site trainers over an {@link AdapterModel} (the encoder's classification and retrieval
 * trainers, the decoder's instruction trainer) share: the model, shared with other trainers or
 * owned, on which every call is serialised; its adapter spec; the bookkeeping of one local round
 * ({@link Round}); and closing the model if owned.
 *
 * @param <M> the adapter model
 */
public abstract class AdapterSiteTrainer<M extends AdapterModel<?>> implements SiteTrainer {
    /** The model; calls that use it synchronise on it. */
    protected final M model;

    private final boolean ownsModel;
    private long rounds;

    /**
     * @param model shared or owned
     * @param ownsModel whether {@link #close()} closes {@code model}
     */
    protected AdapterSiteTrainer(M model, boolean ownsModel) {
        this.model = model;
        this.ownsModel = ownsModel;
    }

    /**
     * The seed of this trainer's next round: from {@code seed}, {@code baseVersion} and the number
     * of rounds it has run, so runs are reproducible. Call with the model's lock held.
     */
    protected long nextRoundSeed(long seed, long baseVersion) {
        return Sampling.streamSeed(seed, baseVersion, rounds++);
    }

    /** Sets a copy of {@code adapter} into the model and returns the copy. */
    protected Map<String, float[]> loadCopy(Map<String, float[]> adapter) {
        Map<String, float[]> copy = Adapters.copy(adapter);
        model.setAdapter(copy);
        return copy;
    }

    @Override
    public FederationSpec federationSpec(String federationId, long seed) {
        return model.adapterSpec(federationId, seed);
    }

    public M model() {
        return model;
    }

    @Override
    public void close() {
        if (ownsModel) {
            synchronized (model) {
                model.close();
            }
        }
    }

    /**
     * One local round from {@code start}, the adapter the model holds: counts steps and their
     * losses, and times the round from its creation.
     */
    protected final class Round {
        private final Map<String, float[]> start;
        private final long t0 = System.nanoTime();
        private long steps;
        private double lossSum;

        /**
         * @param start the adapter the round started from (set into the model)
         */
        public Round(Map<String, float[]> start) {
            this.start = start;
        }

        /** Counts one optimizer step of loss {@code loss}. */
        public void step(double loss) {
            lossSum += loss;
            steps++;
        }

        /**
         * The model's adapter minus {@code start}, with the metrics {@link #TRAIN_LOSS}, {@link
         * #STEPS} and {@link #TRAIN_MILLIS} in that order (a map the caller may add to).
         */
        public Finished finish() {
            long millis = (System.nanoTime() - t0) / 1_000_000;
            Map<String, float[]> delta = Adapters.delta(model.getAdapter(), start);
            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put(TRAIN_LOSS, steps == 0 ? Double.NaN : lossSum / steps);
            metrics.put(STEPS, (double) steps);
            metrics.put(TRAIN_MILLIS, (double) millis);
            return new Finished(delta, metrics);
        }
    }

    /**
     * A finished round's delta and metrics.
     *
     * @param delta trained − start, per tensor
     * @param metrics modifiable, in insertion order
     */
    public record Finished(Map<String, float[]> delta, Map<String, Double> metrics) {}
}
