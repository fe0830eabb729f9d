package io.fedstream.worker;

import io.fedstream.schemas.FederationSpec;
import java.util.Map;
import java.util.function.Function;

/**
 * Two local rounds of a site trainer from version 0 of its federation, each from the version the
 * previous delta gives: what the trainers' tests check.
 *
 * @param spec the federation the trainer proposes
 * @param before the training loss and accuracy at version 0
 * @param first the first round's result
 * @param v2 the version after both rounds
 */
public record TwoRounds(
        FederationSpec spec,
        SiteTrainer.EvalResult before,
        SiteTrainer.TrainResult first,
        Map<String, float[]> v2) {

    /**
     * Runs the two rounds on {@code trainer}, its federation proposed with {@code seed}; {@code
     * evaluateTrain} is its evaluation on its own training data.
     */
    public static TwoRounds run(
            SiteTrainer trainer,
            long seed,
            Function<Map<String, float[]>, SiteTrainer.EvalResult> evaluateTrain) {
        FederationSpec spec = trainer.federationSpec("f", seed);
        Map<String, float[]> v0 = spec.initialValues();
        SiteTrainer.EvalResult before = evaluateTrain.apply(v0);
        SiteTrainer.TrainResult first = trainer.train(v0, 0);
        Map<String, float[]> v1 = Adapters.apply(v0, first.delta());
        SiteTrainer.TrainResult second = trainer.train(v1, 1);
        return new TwoRounds(spec, before, first, Adapters.apply(v1, second.delta()));
    }
}
