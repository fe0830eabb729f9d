package io.fedstream.cli;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.mlp.DemoFederation;
import io.fedstream.worker.mlp.LoraMlpEvaluator;
import io.fedstream.worker.mlp.MlpSiteTrainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The demo task ({@code --model mlp}): a LoRA-adapted MLP on generated data, split among the sites
 * by a Dirichlet(α) draw over labels ({@link DemoFederation}). The metric is accuracy on a balanced
 * held-out set no site trains on; per site, accuracy on the site's own held-out examples.
 */
final class MlpLocalTask implements LocalTask {
    private final DemoFederation demo;
    private final List<MlpSiteTrainer> trainers = new ArrayList<>();
    // the workers' trainers are busy in their threads; these score the sites' held-out data
    private final List<MlpSiteTrainer> scorers = new ArrayList<>();
    private final LoraMlpEvaluator evaluator;

    MlpLocalTask(String federationId, long seed, int sites, double alpha) {
        this.demo = DemoFederation.create(federationId, seed, sites, alpha);
        for (int i = 0; i < sites; i++) {
            trainers.add(demo.trainer(i));
            scorers.add(demo.trainer(i));
        }
        this.evaluator = demo.globalEvaluator();
    }

    @Override
    public String description() {
        return String.format(
                Locale.ROOT,
                "the demo task: a LoRA-adapted MLP on generated data, %d sites, Dirichlet(%s) label"
                        + " split",
                demo.numSites(),
                demo.alpha());
    }

    @Override
    public String metricName() {
        return "accuracy";
    }

    @Override
    public FederationSpec spec(String federationId, long seed) {
        return trainers.get(0).federationSpec(federationId, seed);
    }

    @Override
    public List<String> siteIds() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < demo.numSites(); i++) {
            out.add(DemoFederation.siteName(i));
        }
        return out;
    }

    @Override
    public SiteTrainer trainer(int index) {
        return trainers.get(index);
    }

    @Override
    public synchronized Score score(Map<String, float[]> adapter) {
        SiteTrainer.EvalResult global = evaluator.evaluate(adapter);
        List<Double> perSite = new ArrayList<>();
        for (MlpSiteTrainer t : scorers) {
            perSite.add(t.evaluate(adapter).accuracy());
        }
        return new Score(global.accuracy(), global.loss(), perSite);
    }

    @Override
    public synchronized Score siteAlone(int rounds) {
        FederationSpec spec = spec(demo.id(), demo.seed());
        double metric = 0;
        double loss = 0;
        List<Double> perSite = new ArrayList<>();
        for (int i = 0; i < demo.numSites(); i++) {
            try (MlpSiteTrainer t = demo.trainer(i)) {
                Map<String, float[]> adapter = spec.initialValues();
                for (int r = 0; r < rounds; r++) {
                    adapter = Adapters.apply(adapter, t.train(adapter, r).delta());
                }
                SiteTrainer.EvalResult global = evaluator.evaluate(adapter);
                metric += global.accuracy();
                loss += global.loss();
                perSite.add(scorers.get(i).evaluate(adapter).accuracy());
            }
        }
        int n = demo.numSites();
        return new Score(metric / n, loss / n, perSite);
    }

    @Override
    public void close() {
        for (MlpSiteTrainer t : trainers) {
            t.close();
        }
        for (MlpSiteTrainer t : scorers) {
            t.close();
        }
        evaluator.close();
    }
}
