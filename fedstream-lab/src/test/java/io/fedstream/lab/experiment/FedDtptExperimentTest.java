package io.fedstream.lab.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.worker.prompt.PromptTuner;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The data plumbing of {@code ./fedstream experiment feddtpt}. */
class FedDtptExperimentTest {

    private static FedDtptExperiment.Settings settings() {
        return new FedDtptExperiment.Settings(
                4, 0.1, 10, 2, 8, 2, 100, 3, 4, 6, 32, "the review is", false, 5);
    }

    private static List<PromptTuner.Example> pool() {
        List<PromptTuner.Example> out = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            out.add(new PromptTuner.Example("text " + i, i % 2 == 0 ? "negative" : "positive"));
        }
        return out;
    }

    @Test
    void bothSplitsGiveEveryExampleToExactlyOneClient() {
        for (boolean iid : new boolean[] {true, false}) {
            List<List<PromptTuner.Example>> clients =
                    FedDtptExperiment.split(pool(), settings(), iid);

            assertThat(clients).hasSize(4);
            assertThat(clients.stream().flatMap(List::stream))
                    .doesNotHaveDuplicates()
                    .containsExactlyInAnyOrderElementsOf(pool());
            if (iid) {
                assertThat(clients).allMatch(c -> c.size() == 10);
            }
        }
    }

    @Test
    void dirichletSkewsLabelsMoreThanIid() {
        double iidSkew = skew(FedDtptExperiment.split(pool(), settings(), true));
        double dirichletSkew = skew(FedDtptExperiment.split(pool(), settings(), false));

        assertThat(dirichletSkew).isGreaterThan(iidSkew);
    }

    @Test
    void theScoringSetIsASeededLocalSamplePlusThePublicSet() {
        List<PromptTuner.Example> local = pool().subList(0, 10);
        List<PromptTuner.Example> pub = pool().subList(30, 34);

        List<PromptTuner.Example> a = FedDtptExperiment.scoring(local, pub, settings(), 1, 0);
        List<PromptTuner.Example> b = FedDtptExperiment.scoring(local, pub, settings(), 1, 0);
        List<PromptTuner.Example> nextRound =
                FedDtptExperiment.scoring(local, pub, settings(), 1, 1);

        assertThat(a).isEqualTo(b).hasSize(3 + 4).endsWith(pub.toArray(PromptTuner.Example[]::new));
        assertThat(local).containsAll(a.subList(0, 3));
        assertThat(nextRound).isNotEqualTo(a);
    }

    /** Mean |share of positives - 1/2| over the clients. */
    private static double skew(List<List<PromptTuner.Example>> clients) {
        double s = 0;
        for (List<PromptTuner.Example> c : clients) {
            long pos = c.stream().filter(e -> e.label().equals("positive")).count();
            s += Math.abs((double) pos / c.size() - 0.5);
        }
        return s / clients.size();
    }
}
