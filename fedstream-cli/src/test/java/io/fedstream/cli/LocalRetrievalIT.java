package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.audit.KafkaAudit;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.schemas.avro.SiteSpend;
import io.fedstream.testing.MiniClusters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default pipeline of {@code ./fedstream local} with the real model: all-MiniLM-L6-v2 + LoRA
 * retrieval on the shipped MedQuAD, a real broker, the job on a MiniCluster at parallelism 2, three
 * signed workers; two versions after version 0; with central DP as {@code --dp-epsilon} sets it
 * (budget planned for two versions), so the run also checks the report's {@code epsilon} column
 * against the privacy ledger topic and the audit re-derives the noise.
 */
class LocalRetrievalIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    @TempDir Path dir;

    @Test
    void theRealModelFederatesOnMedQuadWithDpAndEveryVersionIsScoredAndCharged() throws Exception {
        LocalFederation.Settings settings =
                new LocalFederation.Settings(
                        3,
                        42,
                        0.5,
                        2,
                        Duration.ofSeconds(30),
                        Duration.ofMillis(500),
                        Duration.ofMillis(200),
                        2);
        List<VersionRow> rows;
        LocalTask.Score baseline;
        KafkaAudit.Result audit;
        java.util.TreeMap<Long, PrivacyLedger> ledger;
        double budget = 4.0;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            RetrievalLocalTask task =
                    LocalTasks.retrieval(null, 3, 8, 10, 1, 3e-3, 42, dir.resolve("cache"));
            assertThat(task.siteIds()).hasSize(3);
            baseline = LocalTasks.siteAloneCached(task, 2, dir.resolve("cache"), 42);
            // the second call reads the cache and gives the same numbers
            assertThat(LocalTasks.siteAloneCached(task, 2, dir.resolve("cache"), 42))
                    .isEqualTo(baseline);
            try (LocalFederation fed = new LocalFederation(kafka, settings, task, true)) {
                fed.baseline(baseline);
                fed.withPrivacyBudget(budget, 1e-5, 1.0, 2, dir.resolve("dp.secret"));
                Configuration conf = fed.jobConfiguration(dir);
                conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
                StreamExecutionEnvironment env =
                        StreamExecutionEnvironment.getExecutionEnvironment(conf);
                fed.start(env, conf, row -> {});
                assertThat(fed.awaitVersions(2, Duration.ofMinutes(4), () -> false)).isTrue();
                fed.writeReport(dir.resolve("report"));
                rows = fed.rows();
            }
            audit =
                    KafkaAudit.run(
                            kafka.clientProperties(),
                            Topics.ADAPTER_UPDATES,
                            Topics.GLOBAL_MODELS,
                            LocalFederation.FEDERATION,
                            Files.readAllBytes(dir.resolve("dp.secret")));
            ledger =
                    PrivacyLedgers.read(
                            kafka.clientProperties(),
                            Topics.PRIVACY_LEDGER,
                            LocalFederation.FEDERATION);
        }
        assertThat(audit.ok()).as("audit of the log: %s", audit.findings()).isTrue();
        // epsilon: 0 at version 0, never decreasing, within the budget, and the ledger's largest
        // spend of any site up to the version
        assertThat(rows.get(0).epsilon()).isZero();
        for (int i = 1; i < rows.size(); i++) {
            VersionRow r = rows.get(i);
            assertThat(r.epsilon()).isGreaterThanOrEqualTo(rows.get(i - 1).epsilon());
            assertThat(r.epsilon()).isGreaterThan(0).isLessThanOrEqualTo(budget);
            double fromLedger =
                    ledger.headMap(r.version(), true).values().stream()
                            .flatMap(l -> l.getEntries().stream())
                            .mapToDouble(SiteSpend::getEpsilon)
                            .max()
                            .orElseThrow();
            assertThat(r.epsilon()).as("version %d", r.version()).isEqualTo(fromLedger);
        }
        assertThat(ledger.keySet())
                .containsAll(rows.stream().skip(1).map(VersionRow::version).toList());
        assertThat(rows).hasSizeGreaterThanOrEqualTo(3);
        for (VersionRow r : rows) {
            assertThat(r.metric()).isBetween(0.0, 1.0);
            assertThat(r.baseline()).isEqualTo(baseline.metric());
            assertThat(r.perSite()).hasSize(3);
            // the mean over sites is the metric
            assertThat(
                            r.perSite().stream()
                                    .mapToDouble(Double::doubleValue)
                                    .average()
                                    .orElseThrow())
                    .isCloseTo(r.metric(), org.assertj.core.api.Assertions.within(1e-12));
        }
        // version 0 is the pretrained encoder (LoRA B = 0): better than chance over the pool
        assertThat(rows.get(0).metric()).isGreaterThan(0.2);
        List<String> csv = Files.readAllLines(dir.resolve("report/versions.csv"));
        List<String> header = Arrays.asList(csv.get(0).split(","));
        assertThat(header).contains("metric", "baseline").endsWith("epsilon");
        // the report was written while versions kept coming: it holds a prefix of the rows
        assertThat(csv.size() - 1).isBetween(3, rows.size());
        for (int i = 1; i < csv.size(); i++) {
            assertThat(csv.get(i)).isEqualTo(rows.get(i - 1).csv());
        }
        assertThat(Files.size(dir.resolve("report/metric.png"))).isGreaterThan(1000);
    }
}
