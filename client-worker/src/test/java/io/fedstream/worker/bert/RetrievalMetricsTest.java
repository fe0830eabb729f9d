package io.fedstream.worker.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class RetrievalMetricsTest {

    // 2-d unit vectors; keys at angles 0, 90, 180 degrees
    private static final float[] KEYS = {1, 0, 0, 1, -1, 0};

    @Test
    void recallAndReciprocalRankFollowThePositivesRank() {
        // query 0 points at key 0 (rank 1); query 1 at key 0 but its positive is key 1 (rank 2);
        // query 2 at key 0, positive key 2 (rank 3)
        float[] queries = {1, 0, 0.8f, 0.6f, 1, 0};
        RetrievalSiteTrainer.Ranking r =
                RetrievalMetrics.rank(queries, KEYS, new int[] {0, 1, 2}, 2, 1);

        assertThat(r.recallAt1()).isCloseTo(1 / 3.0, within(1e-12));
        assertThat(r.mrr()).isCloseTo((1 + 1 / 2.0 + 1 / 3.0) / 3, within(1e-12));
        assertThat(r.questions()).isEqualTo(3);
    }

    @Test
    void lossIsTheSoftmaxCrossEntropyOfScaledScores() {
        float[] q = {1, 0};
        RetrievalSiteTrainer.Ranking r = RetrievalMetrics.rank(q, KEYS, new int[] {1}, 2, 20);
        // scores 1, 0, -1 scaled by 20; positive has score 0
        double z = Math.exp(20) + Math.exp(0) + Math.exp(-20);
        assertThat(r.loss()).isCloseTo(Math.log(z) - 0, within(1e-9));
    }

    @Test
    void aTieWithANegativeIsAMiss() {
        float[] constant = {0, 0};
        RetrievalSiteTrainer.Ranking r = RetrievalMetrics.rank(constant, KEYS, new int[] {0}, 2, 1);
        assertThat(r.recallAt1()).isZero();
        assertThat(r.mrr()).isCloseTo(1 / 3.0, within(1e-12));
    }

    @Test
    void refusesMismatchedShapes() {
        assertThatThrownBy(() -> RetrievalMetrics.rank(new float[3], KEYS, new int[] {0}, 2, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RetrievalMetrics.rank(new float[2], KEYS, new int[] {3}, 2, 1))
                .hasMessageContaining("positive 3");
    }
}
