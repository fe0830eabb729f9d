package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.ExactlyOnceIT.Scenario;
import io.fedstream.job.FailingPassThrough.Fault;
import io.fedstream.job.FailingPassThrough.Plan;
import io.fedstream.job.FailingPassThrough.Point;
import io.fedstream.testing.MiniClusters;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Faults at the points of the checkpoint cycle where exactly-once is easiest to break (see {@link
 * FailingPassThrough}): only after a checkpoint has completed, while a checkpoint is in flight with
 * the sinks' transactions open, between a checkpoint's completion and the sinks' commit, and
 * several of them in one run. The input is {@link ExactlyOnceIT}'s (two federations, 42 updates, 3
 * hostile records, trickled in; federation a's 30 updates as three chunks and a manifest each, so
 * 135 records, over which the faults' record counts are spread); every run must publish the
 * versions of a fault-free run, digest for digest, and pass the {@link
 * io.fedstream.testing.DeliveryCheck} (each version and chunk once and in order, each update in
 * exactly one manifest or dead-lettered once). A rule that holds its rounds' chunks (trimmed mean)
 * runs the same faults with them in RocksDB.
 */
class CheckpointFaultsIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(4);

    static EmbeddedKafka kafka;
    static List<String> reference;

    @BeforeAll
    static void startKafkaAndRunWithoutFaults() throws Exception {
        kafka = EmbeddedKafka.builder().start();
        Scenario s = new Scenario(kafka, UnaryOperator.identity());
        reference = s.finish(s.start(2, null), null);
        assertThat(reference).hasSize(ExactlyOnceIT.VERSIONS);
    }

    @AfterAll
    static void stopKafka() {
        kafka.close();
    }

    @ParameterizedTest(
            name = "fail on the first record after a checkpoint, armed after {0} records")
    @ValueSource(ints = {12, 102})
    void aFailureOnlyAfterACompletedCheckpointChangesNothing(
            int afterRecords, @InjectMiniCluster MiniCluster cluster) throws Exception {
        runAndCompare(cluster, new Fault(Point.AFTER_COMPLETED_CHECKPOINT, afterRecords));
    }

    @ParameterizedTest(name = "a snapshot stalls and fails after {0} records")
    @ValueSource(ints = {27, 84})
    void aFailureWhileACheckpointIsInFlightChangesNothing(
            int afterRecords, @InjectMiniCluster MiniCluster cluster) throws Exception {
        runAndCompare(cluster, new Fault(Point.DURING_SNAPSHOT, afterRecords));
    }

    @ParameterizedTest(name = "fail on a checkpoint-complete notification after {0} records")
    @ValueSource(ints = {42, 114})
    void aFailureBetweenPreCommitAndCommitChangesNothing(
            int afterRecords, @InjectMiniCluster MiniCluster cluster) throws Exception {
        runAndCompare(cluster, new Fault(Point.ON_CHECKPOINT_COMPLETE, afterRecords));
    }

    @Test
    void repeatedFailuresOfEveryKindInOneRunChangeNothing(@InjectMiniCluster MiniCluster cluster)
            throws Exception {
        runAndCompare(
                cluster,
                new Fault(Point.AFTER_COMPLETED_CHECKPOINT, 9),
                new Fault(Point.DURING_SNAPSHOT, 36),
                new Fault(Point.AFTER_COMPLETED_CHECKPOINT, 54),
                new Fault(Point.ON_CHECKPOINT_COMPLETE, 81),
                new Fault(Point.DURING_SNAPSHOT, 120));
    }

    @Test
    void aRobustRuleKeepsItsRoundsInRocksDbAndSurvivesFailures(
            @InjectMiniCluster MiniCluster cluster) throws Exception {
        Map<String, String> trimmedMean =
                Map.of(
                        FedStreamOptions.AGGREGATION_RULE.key(), "trimmed-mean",
                        FedStreamOptions.AGGREGATION_RULE_PARAMS.key(), "beta:0.34");
        Scenario clean = new Scenario(kafka, UnaryOperator.identity());
        clean.settings = trimmedMean;
        JobClient cleanJob = clean.start(2, null);
        String backend = stateBackend(cluster, cleanJob);
        List<String> robustReference = clean.finish(cleanJob, null);

        List<String> out =
                run(
                        cluster,
                        trimmedMean,
                        new Fault(Point.AFTER_COMPLETED_CHECKPOINT, 42),
                        new Fault(Point.DURING_SNAPSHOT, 90));

        assertThat(backend).isEqualTo("EmbeddedRocksDBStateBackend");
        assertThat(robustReference)
                .as("trimmed mean, not FedAvg, after the versions 0")
                .hasSize(ExactlyOnceIT.VERSIONS)
                .doesNotContainAnyElementsOf(
                        reference.stream().filter(v -> !v.contains(" v0 ")).toList());
        assertThat(out).containsExactlyElementsOf(robustReference);
    }

    private static String stateBackend(MiniCluster cluster, JobClient job) throws Exception {
        for (int i = 0; i < 100; i++) {
            var name = cluster.getExecutionGraph(job.getJobID()).get().getStateBackendName();
            if (name.isPresent() && !name.get().equals("Unknown")) { // "Unknown" while starting
                return name.get();
            }
            Thread.sleep(100);
        }
        return "none";
    }

    private static void runAndCompare(MiniCluster cluster, Fault... faults) throws Exception {
        assertThat(run(cluster, Map.of(), faults)).containsExactlyElementsOf(reference);
    }

    /** Runs the input with {@code faults} injected; returns the digests. */
    private static List<String> run(
            MiniCluster cluster, Map<String, String> settings, Fault... faults) throws Exception {
        Plan plan = new Plan(List.of(faults));
        Scenario s =
                new Scenario(kafka, FailingPassThrough.insert(UUID.randomUUID().toString(), plan));
        s.settings = settings;
        if (faults.length > 2) {
            // A fault after a completed checkpoint fires on a record, so each recovery must still
            // find input coming: with several faults in one run the input is spread over about
            // 7 s instead of 2.7 s (once the job caught up within a restart and the third fault
            // never fired).
            s.pacingMs = 150;
        }
        JobClient job = s.start(2, null);
        List<String> out = s.finish(job, cluster);

        System.out.println(s.prefix + ": " + String.join("; ", plan.fired()));
        assertThat(plan.fired()).as("every planned fault fired").hasSize(faults.length);
        assertThat(s.failed).as("the job failed and recovered").isTrue();
        return out;
    }
}
