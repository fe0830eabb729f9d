package io.fedstream.worker.mlp;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SyntheticTaskTest {
    private final LoraMlpConfig config = LoraMlpConfig.defaults();

    @Test
    void theSameSeedGivesTheSameData() {
        SyntheticTask a = SyntheticTask.forModel(config, 5);
        SyntheticTask b = SyntheticTask.forModel(config, 5);
        assertThat(a.sample(300, 1)).isEqualTo(b.sample(300, 1));
        assertThat(a.globalHoldout(10)).isEqualTo(b.globalHoldout(10));
        assertThat(a.sites(3, 600, 0.5, 0.2, 20)).isEqualTo(b.sites(3, 600, 0.5, 0.2, 20));
        assertThat(a.sample(300, 1)).isNotEqualTo(SyntheticTask.forModel(config, 6).sample(300, 1));
    }

    @Test
    void theGlobalHoldoutIsBalanced() {
        Examples holdout = SyntheticTask.forModel(config, 1).globalHoldout(25);
        assertThat(holdout.size()).isEqualTo(25 * config.numClasses());
        assertThat(holdout.labelCounts(config.numClasses())).containsOnly(25);
    }

    @Test
    void sitesSplitThePoolWithoutOverlapAndKeepAHeldOutPart() {
        SyntheticTask task = SyntheticTask.forModel(config, 2);
        int pool = 1200;
        List<SiteData> sites = task.sites(4, pool, 0.5, 0.25, 30);
        Set<Float> firstFeatures = new HashSet<>();
        int total = 0;
        for (SiteData site : sites) {
            total += site.train().size() + site.eval().size();
            int n = site.train().size() + site.eval().size();
            assertThat(site.eval().size()).isEqualTo((int) Math.round(n * 0.25));
            for (Examples part : List.of(site.train(), site.eval())) {
                float[] x = part.features();
                for (int i = 0; i < part.size(); i++) {
                    // a row's first feature is a continuous draw: equal values mean a shared row
                    assertThat(firstFeatures.add(x[i * part.dim()])).isTrue();
                }
            }
        }
        assertThat(total).isEqualTo(pool);
    }

    @Test
    void theBayesRuleIsFarAboveChance() {
        SyntheticTask task = SyntheticTask.forModel(config, 3);
        Examples holdout = task.globalHoldout(200);
        // the Bayes rule is good, far from chance (1/8)
        assertThat(task.oracleAccuracy(holdout)).isBetween(0.8, 0.97);
    }
}
