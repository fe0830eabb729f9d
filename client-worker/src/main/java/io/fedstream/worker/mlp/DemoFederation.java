package io.fedstream.worker.mlp;

import io.fedstream.schemas.FederationSpec;
import java.util.List;

/**
 * The federation {@code ./fedstream local} and {@code ./fedstream worker} run out of the box: the
 * LoRA-adapted MLP on the generated classification task, its examples split among the sites by a
 * Dirichlet(α) draw over labels (non-IID). Everything follows from the seed, so a worker process
 * started with the same seed, site count and site index gets the same data as in a local run.
 */
public record DemoFederation(
        String id,
        long seed,
        int numSites,
        double alpha,
        LoraMlpConfig model,
        SyntheticTask task,
        List<SiteData> sites) {

    public static final int POOL_SIZE = 2400;
    public static final double EVAL_FRACTION = 0.2;
    public static final int MIN_PER_SITE = 40;
    public static final int HOLDOUT_PER_CLASS = 100;

    public static DemoFederation create(String id, long seed, int numSites, double alpha) {
        if (numSites < 1) {
            throw new IllegalArgumentException("need at least one site");
        }
        LoraMlpConfig model = LoraMlpConfig.defaults();
        SyntheticTask task = SyntheticTask.forModel(model, seed);
        List<SiteData> sites = task.sites(numSites, POOL_SIZE, alpha, EVAL_FRACTION, MIN_PER_SITE);
        return new DemoFederation(id, seed, numSites, alpha, model, task, sites);
    }

    public FederationSpec spec() {
        try (MlpSiteTrainer t = trainer(0)) {
            return t.federationSpec(id, seed);
        }
    }

    /** The trainer of site {@code index} (0-based); close it. */
    public MlpSiteTrainer trainer(int index) {
        return new MlpSiteTrainer(model, sites.get(index), TrainConfig.defaults(seed * 31 + index));
    }

    /** An evaluator on the balanced held-out set no site trains on; close it. */
    public LoraMlpEvaluator globalEvaluator() {
        Examples holdout = task.globalHoldout(HOLDOUT_PER_CLASS);
        return new LoraMlpEvaluator(model, holdout);
    }

    public static String siteName(int index) {
        return "site-" + (index + 1);
    }
}
