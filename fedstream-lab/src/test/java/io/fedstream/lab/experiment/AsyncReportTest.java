package io.fedstream.lab.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.lab.experiment.AsyncExperimentCommand.Method;
import io.fedstream.lab.experiment.AsyncExperimentCommand.Point;
import io.fedstream.lab.experiment.AsyncExperimentCommand.Run;
import java.util.List;
import org.junit.jupiter.api.Test;

class AsyncReportTest {
    private static final Method SYNC =
            new Method(
                    "sync",
                    9,
                    1,
                    "constant",
                    io.fedstream.job.FedStreamOptions.Normalization.WEIGHTS);
    private static final Method BUFF =
            new Method(
                    "fedbuff",
                    3,
                    1,
                    "polynomial",
                    io.fedstream.job.FedStreamOptions.Normalization.EXAMPLES);
    private static final Method ASYNC =
            new Method(
                    "fedasync",
                    1,
                    1,
                    "polynomial",
                    io.fedstream.job.FedStreamOptions.Normalization.EXAMPLES);

    private static Run run(Method m, long seed, double... timeMetric) {
        List<Point> ps = new java.util.ArrayList<>();
        for (int i = 0; i < timeMetric.length; i += 2) {
            ps.add(new Point(timeMetric[i], i / 2, timeMetric[i + 1], 0));
        }
        return new Run(m, seed, ps, 0);
    }

    @Test
    void theTargetIsTheSynchronousFinalMetricAndTheSpeedupUsesTheBestAsynchronousMethod() {
        List<Run> runs =
                List.of(
                        run(SYNC, 1, 0, 0.6, 30, 0.7, 60, 0.75, 90, 0.75),
                        run(BUFF, 1, 0, 0.6, 10, 0.74, 20, 0.76),
                        run(ASYNC, 1, 0, 0.6, 15, 0.75));
        AsyncReport.SeedResult s = AsyncReport.bySeed(runs).get(0);

        assertThat(s.target()).isEqualTo(0.75);
        // sync first reaches its own final value at 60 s, FedBuff at 20 s, FedAsync at 15 s
        assertThat(s.timeTo()).containsEntry("sync", 60.0).containsEntry("fedasync", 15.0);
        assertThat(s.speedup()).isEqualTo(4.0);
        assertThat(AsyncReport.summary(runs, "recall@1").strip()).endsWith("speedup: 4.00");
    }

    @Test
    void aMethodThatNeverReachesTheTargetDoesNotCount() {
        List<Run> runs =
                List.of(
                        run(SYNC, 1, 0, 0.6, 50, 0.8),
                        run(BUFF, 1, 0, 0.6, 10, 0.7),
                        run(ASYNC, 1, 0, 0.6, 25, 0.81));
        assertThat(AsyncReport.bySeed(runs).get(0).speedup()).isEqualTo(2.0);
        List<Run> none = List.of(run(SYNC, 1, 0, 0.6, 50, 0.8), run(BUFF, 1, 0, 0.6, 10, 0.7));
        assertThat(AsyncReport.bySeed(none).get(0).speedup()).isNaN();
    }

    @Test
    void theSpeedupOverSeedsIsTheMedian() {
        assertThat(AsyncReport.median(new double[] {3, Double.NaN, 1, 2})).isEqualTo(2);
        assertThat(AsyncReport.median(new double[] {4, 1})).isEqualTo(2.5);
    }
}
