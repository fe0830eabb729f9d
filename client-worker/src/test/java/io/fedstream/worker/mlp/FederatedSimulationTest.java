package io.fedstream.worker.mlp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer.EvalResult;
import io.fedstream.worker.SiteTrainer.TrainResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** FedAvg over non-IID sites with real local training: the global adapter learns the task. */
class FederatedSimulationTest {

    @Test
    void fedAvgOverLabelSkewedSitesImprovesTheGlobalModel() {
        LoraMlpConfig config = LoraMlpConfig.defaults();
        SyntheticTask task = SyntheticTask.forModel(config, 7);
        List<SiteData> sites = task.sites(4, 2400, 0.3, 0.2, 50);
        Map<String, float[]> global = LoraMlp.spec(config, "sim", 1).initialValues();
        List<MlpSiteTrainer> trainers = new ArrayList<>();
        try (LoraMlpEvaluator evaluator = new LoraMlpEvaluator(config, task.globalHoldout(250))) {
            for (SiteData site : sites) {
                trainers.add(new MlpSiteTrainer(config, site, TrainConfig.defaults(site.site())));
            }
            EvalResult v0 = evaluator.evaluate(global);
            for (long version = 0; version < 5; version++) {
                List<TrainResult> results = new ArrayList<>();
                for (MlpSiteTrainer t : trainers) {
                    results.add(t.train(global, version));
                }
                long n = results.stream().mapToLong(TrainResult::numExamples).sum();
                for (TrainResult r : results) {
                    global = Adapters.apply(global, r.delta(), (float) r.numExamples() / n);
                }
            }
            EvalResult v5 = evaluator.evaluate(global);
            assertThat(v0.accuracy()).isLessThan(0.2);
            assertThat(v5.accuracy()).isGreaterThan(0.7);
            assertThat(v5.loss()).isLessThan(0.4 * v0.loss());
        } finally {
            trainers.forEach(MlpSiteTrainer::close);
        }
    }
}
