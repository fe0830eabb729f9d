package io.fedstream.cli;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.SiteTrainer;
import java.util.List;
import java.util.Map;

/**
 * What a local run federates: the sites, their trainers, and how a global adapter is scored. The
 * task owns every trainer and model it hands out and closes them.
 */
public interface LocalTask extends AutoCloseable {

    /** One line for the console: model, data, sites. */
    String description();

    /** The metric's name, e.g. {@code recall@1}; higher is better. */
    String metricName();

    /** The federation contract (adapter layout and version 0 of {@code seed}). */
    FederationSpec spec(String federationId, long seed);

    /** The sites' ids, in order. */
    List<String> siteIds();

    /** The trainer of site {@code index}; owned by the task. */
    SiteTrainer trainer(int index);

    /** The quality of an adapter on held-out data: the mean over sites, and per site. */
    Score score(Map<String, float[]> adapter);

    /**
     * The site-alone baseline: every site trains only on its own data for {@code rounds} local
     * rounds of the same settings as in the federation, and each site's adapter is scored as {@link
     * #score} scores the global one; the metric is the mean over sites, per site the score of that
     * site's adapter.
     */
    Score siteAlone(int rounds);

    /**
     * Everything the task's results depend on (data, split, model, training settings), for caching
     * its site-alone baseline; null where the baseline is cheap enough not to cache.
     */
    default String cacheKey() {
        return null;
    }

    @Override
    void close();

    /**
     * @param metric the mean over sites of the per-site metric (higher is better)
     * @param loss the mean over sites of the held-out loss
     * @param perSite the metric per site, in {@link #siteIds()} order
     */
    record Score(double metric, double loss, List<Double> perSite) {
        public Score {
            perSite = List.copyOf(perSite);
        }

        static Score of(List<SiteTrainer.EvalResult> results) {
            double m = 0;
            double l = 0;
            for (SiteTrainer.EvalResult r : results) {
                m += r.accuracy();
                l += r.loss();
            }
            int n = Math.max(1, results.size());
            return new Score(
                    m / n, l / n, results.stream().map(SiteTrainer.EvalResult::accuracy).toList());
        }
    }
}
