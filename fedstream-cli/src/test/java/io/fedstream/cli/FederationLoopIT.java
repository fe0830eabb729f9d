package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.audit.KafkaAudit;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.kafka.TopicReader;
import io.fedstream.testing.JoinedUpdates;
import io.fedstream.testing.MiniClusters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The federation loop end to end: a real broker, the job on a MiniCluster at parallelism 2, and
 * three workers training with DJL at different speeds.
 */
class FederationLoopIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    @TempDir Path dir;

    @Test
    void realWorkersProduceVersionsThatEqualTheWeightedAggregateOfTheirManifests()
            throws Exception {
        // arrange
        LocalFederation.Settings settings =
                new LocalFederation.Settings(
                        3,
                        7,
                        0.5,
                        2,
                        Duration.ofSeconds(20),
                        Duration.ofMillis(500),
                        Duration.ofMillis(300),
                        2);
        List<GlobalModel> versions;
        List<AdapterUpdate> updates;
        List<VersionRow> rows;
        KafkaAudit.Result audit;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            try (LocalFederation fed = new LocalFederation(kafka, settings)) {
                Configuration conf = fed.jobConfiguration(dir);
                conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
                StreamExecutionEnvironment env =
                        StreamExecutionEnvironment.getExecutionEnvironment(conf);

                // act
                fed.start(env, conf, row -> {});
                assertThat(fed.awaitVersions(4, Duration.ofMinutes(3), () -> false)).isTrue();
                fed.writeReport(dir.resolve("report"));
                rows = fed.rows();
            }
            versions = readAll(kafka, Topics.GLOBAL_MODELS, new GlobalModelAssembler()::accept);
            updates = readAll(kafka, Topics.ADAPTER_UPDATES, new JoinedUpdates()::accept);
            audit =
                    KafkaAudit.run(
                            kafka.clientProperties(),
                            Topics.ADAPTER_UPDATES,
                            Topics.GLOBAL_MODELS,
                            "demo");
        }
        assertThat(audit.ok()).as("audit of the log: %s", audit.findings()).isTrue();
        assertThat(audit.versionsRead()).isEqualTo(versions.size());

        // assert: an unbroken chain from version 0
        assertThat(versions.size()).isGreaterThanOrEqualTo(5);
        for (int v = 0; v < versions.size(); v++) {
            assertThat(versions.get(v).getVersion()).isEqualTo(v);
            assertThat(versions.get(v).getParentVersion()).isEqualTo(v - 1);
        }
        // every version is its parent plus the weighted mean of the deltas its manifest names
        Map<String, AdapterUpdate> byId = new HashMap<>();
        updates.forEach(u -> byId.put(u.getUpdateId(), u));
        Set<String> counted = new HashSet<>();
        boolean sawStaleness = false;
        for (int v = 1; v < versions.size(); v++) {
            GlobalModel parent = versions.get(v - 1);
            GlobalModel child = versions.get(v);
            List<Contribution> cs = child.getManifest().getContributions();
            assertThat(cs).isNotEmpty();
            assertThat(cs)
                    .allSatisfy(
                            c -> assertThat(byId.get(c.getUpdateId()).getSignature()).isNotNull());
            for (Contribution c : cs) {
                assertThat(counted.add(c.getUpdateId()))
                        .as("%s counted once", c.getUpdateId())
                        .isTrue();
                assertThat(byId).containsKey(c.getUpdateId());
                sawStaleness |= c.getStaleness() > 0;
            }
            assertThat(GlobalModelAssembler.digest(child))
                    .isEqualTo(child.getManifest().getTensorsSha256());
            Map<String, float[]> expected = fedAvg(parent, cs, byId);
            Map<String, float[]> actual = TensorCodec.toMap(child.getTensors());
            assertThat(actual.keySet()).isEqualTo(expected.keySet());
            for (String name : expected.keySet()) {
                assertThat(actual.get(name))
                        .as("version %d tensor %s", v, name)
                        .containsExactly(expected.get(name));
            }
        }
        assertThat(sawStaleness).as("workers of different speeds produce stale updates").isTrue();
        // training is real: later versions beat version 0 on held-out data. Not "the last
        // version is the best": with non-IID sites and quorum 2, a round of two skewed sites can
        // raise the loss for a version (seen under heavy load, when rounds close with different
        // members)
        VersionRow first = rows.get(0);
        List<VersionRow> later = rows.subList(1, rows.size());
        assertThat(later.stream().mapToDouble(VersionRow::evalLoss).min().orElseThrow())
                .isLessThan(first.evalLoss());
        assertThat(later.stream().mapToDouble(VersionRow::metric).max().orElseThrow())
                .isGreaterThan(first.metric() + 0.1);
        assertThat(dir.resolve("report/versions.csv")).isNotEmptyFile();
        assertThat(dir.resolve("report/report.html")).content().contains("<svg");
        assertThat(Files.size(dir.resolve("report/metric.png"))).isGreaterThan(1000);
    }

    /** FedAvg with polynomial staleness (a = 0.5), written independently of the job's classes. */
    private static Map<String, float[]> fedAvg(
            GlobalModel parent, List<Contribution> cs, Map<String, AdapterUpdate> byId) {
        Map<String, double[]> sums = new HashMap<>();
        double total = 0;
        for (Contribution c : cs) {
            AdapterUpdate u = byId.get(c.getUpdateId());
            long s = parent.getVersion() - u.getBaseVersion();
            assertThat(c.getStaleness()).isEqualTo(s);
            // f(s) = (1+s)^-a as docs/algorithms.md defines it; n/sqrt(1+s) is the same real
            // number but can differ in the last bit, and the versions are compared bit for bit
            double w = u.getNumExamples() * Math.pow(1 + s, -0.5);
            assertThat(c.getWeight()).isEqualTo(w);
            total += w;
            for (Map.Entry<String, float[]> d : TensorCodec.toMap(u.getTensors()).entrySet()) {
                double[] acc =
                        sums.computeIfAbsent(d.getKey(), k -> new double[d.getValue().length]);
                for (int i = 0; i < acc.length; i++) {
                    acc[i] += w * d.getValue()[i];
                }
            }
        }
        Map<String, float[]> out = new HashMap<>();
        for (Map.Entry<String, float[]> p : TensorCodec.toMap(parent.getTensors()).entrySet()) {
            float[] next = new float[p.getValue().length];
            for (int i = 0; i < next.length; i++) {
                next[i] = (float) (p.getValue()[i] + 1.0 / total * sums.get(p.getKey())[i]);
            }
            out.put(p.getKey(), next);
        }
        return out;
    }

    private static <T> List<T> readAll(
            EmbeddedKafka kafka, String topic, Function<byte[], List<T>> decode) {
        List<T> out = new ArrayList<>();
        TopicReader.readAll(
                kafka.clientProperties(), topic, r -> out.addAll(decode.apply(r.value())));
        return out;
    }
}
