package io.fedstream.worker.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.train.Adapters;
import io.fedstream.worker.train.Sampling;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plain federated instruction tuning (FedIT, Shepherd) of a causal LM at one site: {@link #train}
 * loads the global adapter, trains it on the site's instruction examples ({@link CausalTraining},
 * seeded by {@link CausalTraining.Options#seed()}, the base version and the round count) and
 * returns {@code trained − global}. {@link #evaluate} gives the mean answer-token NLL on the site's
 * held-out examples (accuracy is not defined for generation: NaN).
 *
 * <p>Several trainers may share one model (the sites of a simulation); only the owner closes it.
 */
public final class CausalSiteTrainer implements SiteTrainer {
    public static final String TRAIN_LOSS = "train_loss";
    public static final String STEPS = "steps";
    public static final String TRAIN_MILLIS = "train_millis";
    public static final String DELTA_NORM = "delta_norm";
    static final int EVAL_BATCH = 8;

    private final LoraCausalLm model;
    private final boolean ownsModel;
    private final CausalTraining.Options options;
    private final CausalTraining.Encoded train;
    private final CausalTraining.Encoded eval;
    private long rounds;

    public CausalSiteTrainer(
            LoraCausalLm model,
            boolean ownsModel,
            HuggingFaceTokenizer tokenizer,
            List<InstructionExample> train,
            List<InstructionExample> eval,
            CausalTraining.Options options) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("a site needs training examples");
        }
        this.model = model;
        this.ownsModel = ownsModel;
        this.options = options;
        this.train =
                CausalTraining.Encoded.of(tokenizer, model.config(), train, options.maxTokens());
        this.eval = CausalTraining.Encoded.of(tokenizer, model.config(), eval, options.maxTokens());
    }

    /** The seed of a round's local training: the same in FedIT and in FedPIT's local delta. */
    public static long roundSeed(long seed, long baseVersion, long round) {
        return Sampling.streamSeed(seed, baseVersion, round);
    }

    @Override
    public FederationSpec federationSpec(String federationId, long seed) {
        return model.adapterSpec(federationId, seed);
    }

    @Override
    public TrainResult train(Map<String, float[]> global, long baseVersion) {
        synchronized (model) {
            Map<String, float[]> start = Adapters.copy(global);
            CausalTraining.Result r =
                    CausalTraining.train(
                            model,
                            start,
                            train,
                            options,
                            roundSeed(options.seed(), baseVersion, rounds++));
            Map<String, float[]> delta = Adapters.delta(r.adapter(), start);
            Map<String, Double> metrics = new LinkedHashMap<>();
            metrics.put(TRAIN_LOSS, r.meanLoss());
            metrics.put(STEPS, (double) r.steps());
            metrics.put(TRAIN_MILLIS, (double) r.millis());
            metrics.put(DELTA_NORM, Adapters.l2Norm(delta));
            return new TrainResult(delta, train.size(), metrics);
        }
    }

    @Override
    public EvalResult evaluate(Map<String, float[]> adapter) {
        if (eval.size() == 0) {
            return new EvalResult(Double.NaN, Double.NaN, 0);
        }
        synchronized (model) {
            model.setAdapter(adapter);
            return new EvalResult(
                    CausalTraining.answerLoss(model, eval, EVAL_BATCH).mean(),
                    Double.NaN,
                    eval.size());
        }
    }

    public LoraCausalLm model() {
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
}
