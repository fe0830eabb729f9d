package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.privacy.RdpAccountant;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.ExactlyOnceIT.Scenario;
import io.fedstream.job.FailingPassThrough.Fault;
import io.fedstream.job.FailingPassThrough.Plan;
import io.fedstream.job.FailingPassThrough.Point;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.schemas.avro.SiteSpend;
import io.fedstream.testing.MiniClusters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.junit.jupiter.api.io.TempDir;

/**
 * The privacy ledger is exactly once across job failures: {@link ExactlyOnceIT}'s input with
 * federation a under central DP (its 30 chunked updates from 5 sites make 10 noised versions), run
 * once without faults and once with a failure after a completed checkpoint, one between a
 * checkpoint's completion and the sinks' commit, and one while a snapshot is in flight (see {@link
 * CheckpointFaultsIT}). The faulty run must publish the same versions digest for digest (the noise
 * is keyed by the job secret, not by the attempt) and the same ledger: one record per version, in
 * order, and every site's spend the composition of exactly the versions it appears in — nothing
 * charged twice, nothing forgotten.
 */
class PrivacyLedgerFaultsIT {
    static final FederationSpec A_DP =
            ExactlyOnceIT.A.withPrivacy(new PrivacySpec(0.2, 1.0, 1e-5, 1000.0, 3));
    static final int DP_VERSIONS = 30 / ExactlyOnceIT.QUORUM;

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(4);

    @TempDir static Path dir;
    static EmbeddedKafka kafka;
    static Map<String, String> settings;
    static List<String> referenceVersions;
    static List<String> referenceLedger;

    @BeforeAll
    static void runWithoutFaults() throws Exception {
        kafka = EmbeddedKafka.builder().start();
        Path secret = dir.resolve("job.secret");
        Files.write(secret, "ledger fault test secret: 32 b.".getBytes());
        settings = Map.of(FedStreamOptions.PRIVACY_SECRET_FILE.key(), secret.toString());
        Scenario s = scenario(UnaryOperator.identity());
        referenceVersions = s.finish(s.start(2, null), null);
        referenceLedger = ledger(s);
        assertThat(referenceVersions).hasSize(ExactlyOnceIT.VERSIONS);
        assertThat(referenceLedger).hasSize(DP_VERSIONS);
    }

    @AfterAll
    static void stopKafka() {
        kafka.close();
    }

    private static Scenario scenario(
            UnaryOperator<org.apache.flink.streaming.api.datastream.DataStream<RawRecord>>
                    afterSource) {
        Scenario s = new Scenario(kafka, afterSource);
        s.federations = List.of(A_DP, ExactlyOnceIT.B);
        s.settings = settings;
        return s;
    }

    @Test
    void theLedgerIsExactlyOnceAcrossFailures(@InjectMiniCluster MiniCluster cluster)
            throws Exception {
        Plan plan =
                new Plan(
                        List.of(
                                new Fault(Point.AFTER_COMPLETED_CHECKPOINT, 30),
                                new Fault(Point.ON_CHECKPOINT_COMPLETE, 70),
                                new Fault(Point.DURING_SNAPSHOT, 110)));
        Scenario s = scenario(FailingPassThrough.insert(UUID.randomUUID().toString(), plan));
        s.pacingMs = 150;
        JobClient job = s.start(2, null);
        List<String> versions = s.finish(job, cluster);
        List<String> ledger = ledger(s);

        System.out.println(s.prefix + ": " + String.join("; ", plan.fired()));
        assertThat(plan.fired()).as("every planned fault fired").hasSize(3);
        assertThat(s.failed).as("the job failed and recovered").isTrue();
        assertThat(versions).containsExactlyElementsOf(referenceVersions);
        assertThat(ledger).containsExactlyElementsOf(referenceLedger);
    }

    /**
     * The ledger topic (read_committed) as one line per record, after checking that its versions
     * are 1..10 once each and that every site's recorded spend is the composition of exactly the
     * versions it appears in.
     */
    private static List<String> ledger(Scenario s) {
        List<byte[]> raw =
                ExactlyOnceIT.readUntil(kafka, s.ledger, DP_VERSIONS, Duration.ofSeconds(30));
        List<String> lines = new ArrayList<>();
        Map<String, Integer> versionsOf = new HashMap<>();
        Map<String, double[]> rdpOf = new HashMap<>();
        long expected = 1;
        for (byte[] r : raw) {
            PrivacyLedger l = AvroCodec.PRIVACY_LEDGER.decode(r);
            assertThat(l.getFederationId()).isEqualTo("a");
            assertThat(l.getVersion())
                    .as("ledger versions once each, in order")
                    .isEqualTo(expected++);
            StringBuilder line = new StringBuilder("v" + l.getVersion());
            for (SiteSpend e : l.getEntries()) {
                int n = versionsOf.merge(e.getSiteId(), 1, Integer::sum);
                double[] rdp =
                        RdpAccountant.compose(
                                rdpOf.getOrDefault(e.getSiteId(), RdpAccountant.zero()),
                                RdpAccountant.round(l.getNoiseMultiplier(), e.getContributions()));
                rdpOf.put(e.getSiteId(), rdp);
                assertThat(e.getVersions()).as("versions of %s", e.getSiteId()).isEqualTo(n);
                assertThat(e.getEpsilon())
                        .as("epsilon of %s at v%d", e.getSiteId(), l.getVersion())
                        .isEqualTo(RdpAccountant.epsilon(rdp, l.getDelta()));
                line.append(' ')
                        .append(e.getSiteId())
                        .append('x')
                        .append(e.getContributions())
                        .append('=')
                        .append(e.getEpsilon());
            }
            lines.add(line.toString());
        }
        return lines;
    }
}
