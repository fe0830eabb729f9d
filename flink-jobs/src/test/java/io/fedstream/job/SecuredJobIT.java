package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.kafka.FederationAcls;
import io.fedstream.schemas.kafka.TopicReader;
import io.fedstream.testing.DeliveryCheck;
import io.fedstream.testing.MiniClusters;
import io.fedstream.testing.SigningSites;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job on a broker with SASL/SCRAM and ACLs: under its own principal and exactly the ACLs of
 * {@link FederationAcls#forAggregationJob}, it reads a site's updates and publishes versions the
 * site can read, transactions included.
 */
class SecuredJobIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    @TempDir Path dir;

    @Test
    void theJobRunsUnderItsOwnPrincipalAndAcls() throws Exception {
        try (EmbeddedKafka kafka = SecuredJob.broker(List.of("site-1"), List.of())) {
            JobClient client = SecuredJob.start(kafka, dir, 2, null, "secured");
            try (KafkaProducer<byte[], byte[]> site = SecuredJob.producer(kafka, "site-1")) {
                for (int i = 0; i < 4; i++) {
                    site.send(
                                    new ProducerRecord<>(
                                            Topics.ADAPTER_UPDATES,
                                            "f".getBytes(StandardCharsets.UTF_8),
                                            AvroCodec.ADAPTER_UPDATE.encode(
                                                    ExactlyOnceIT.update(Fixtures.SPEC, i))))
                            .get();
                }
            }
            List<GlobalModel> versions = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (versions.size() < 3 && System.nanoTime() < deadline) {
                versions.clear();
                versions.addAll(versionsAs(kafka, "site-1"));
                Thread.sleep(300);
            }
            assertThat(client.getJobStatus().get().isGloballyTerminalState()).isFalse();
            client.cancel().get();

            assertThat(versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
        }
    }

    /**
     * Sites a and b, each with its own SCRAM credentials, ACLs and signing key. Site a sends,
     * signed with its own key and under its own site id, an update with b's predictable update id
     * before b does: chunked in round 1, whole in round 2. Both sites' updates are counted in each
     * version; a's replay is a duplicate of a's own update only.
     */
    @Test
    void aSiteCannotVetoAnotherSitesUpdateByUsingItsUpdateId() throws Exception {
        SigningSites sites = SigningSites.generate("site-a", "site-b");
        Path registry = sites.writeRegistry(dir.resolve("site-keys.json"));
        try (EmbeddedKafka kafka = SecuredJob.broker(List.of("site-a", "site-b"), List.of())) {
            JobClient client = SecuredJob.start(kafka, dir, 2, registry, "cross-site ids");
            byte[] fed = "f".getBytes(StandardCharsets.UTF_8);
            try (KafkaProducer<byte[], byte[]> a = SecuredJob.producer(kafka, "site-a");
                    KafkaProducer<byte[], byte[]> b = SecuredJob.producer(kafka, "site-b")) {
                // round 1, chunked: a first, under b's update id
                UpdateChunking.Chunked fromA =
                        UpdateChunking.split(
                                update("site-b/v0", "site-a", 0, 10, 0.1f), Fixtures.SPEC.layout());
                UpdateSigning.sign(
                        fromA.manifest(), sites.keyId("site-a"), sites.privateKey("site-a"));
                UpdateChunking.Chunked fromB =
                        UpdateChunking.split(
                                update("site-b/v0", "site-b", 0, 30, 0.2f), Fixtures.SPEC.layout());
                UpdateSigning.sign(
                        fromB.manifest(), sites.keyId("site-b"), sites.privateKey("site-b"));
                for (UpdateChunk c : fromA.chunks()) {
                    a.send(record(fed, AvroCodec.UPDATE_CHUNK.encode(c))).get();
                }
                a.send(record(fed, AvroCodec.UPDATE_MANIFEST.encode(fromA.manifest()))).get();
                for (UpdateChunk c : fromB.chunks()) {
                    b.send(record(fed, AvroCodec.UPDATE_CHUNK.encode(c))).get();
                }
                b.send(record(fed, AvroCodec.UPDATE_MANIFEST.encode(fromB.manifest()))).get();
                // a replays its own manifest: a duplicate of a's update, not of b's
                a.send(record(fed, AvroCodec.UPDATE_MANIFEST.encode(fromA.manifest()))).get();
                // round 2, whole records: a first again
                AdapterUpdate wholeA = update("site-b/v1", "site-a", 1, 10, 0.3f);
                UpdateSigning.sign(wholeA, sites.keyId("site-a"), sites.privateKey("site-a"));
                AdapterUpdate wholeB = update("site-b/v1", "site-b", 1, 30, 0.4f);
                UpdateSigning.sign(wholeB, sites.keyId("site-b"), sites.privateKey("site-b"));
                a.send(record(fed, AvroCodec.ADAPTER_UPDATE.encode(wholeA))).get();
                b.send(record(fed, AvroCodec.ADAPTER_UPDATE.encode(wholeB))).get();
            }
            List<GlobalModel> versions = new ArrayList<>();
            List<RejectedUpdate> rejected = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while ((versions.size() < 3 || rejected.isEmpty()) && System.nanoTime() < deadline) {
                versions.clear();
                rejected.clear();
                versions.addAll(versionsAs(kafka, "site-b"));
                TopicReader.readAll(
                        SecuredJob.client(kafka, SecuredJob.ADMIN),
                        Topics.REJECTED_UPDATES,
                        r -> rejected.add(AvroCodec.REJECTED_UPDATE.decode(r.value())));
                Thread.sleep(300);
            }
            assertThat(client.getJobStatus().get().isGloballyTerminalState()).isFalse();
            client.cancel().get();

            assertThat(versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
            for (int v = 1; v <= 2; v++) {
                assertThat(versions.get(v).getManifest().getContributions())
                        .extracting(Contribution::getSiteId, Contribution::getUpdateId)
                        .containsExactly(
                                org.assertj.core.groups.Tuple.tuple("site-a", "site-b/v" + (v - 1)),
                                org.assertj.core.groups.Tuple.tuple(
                                        "site-b", "site-b/v" + (v - 1)));
            }
            assertThat(rejected)
                    .extracting(
                            RejectedUpdate::getReason,
                            RejectedUpdate::getSiteId,
                            RejectedUpdate::getUpdateId)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple(
                                    RejectReason.DUPLICATE_UPDATE, "site-a", "site-b/v0"));
            DeliveryCheck.Report check =
                    DeliveryCheck.read(
                            SecuredJob.client(kafka, SecuredJob.ADMIN),
                            Topics.ADAPTER_UPDATES,
                            Topics.GLOBAL_MODELS,
                            Topics.REJECTED_UPDATES);
            assertThat(check.violations()).isEmpty();
            assertThat(check.updateRecords()).isEqualTo(5);
            var audit =
                    io.fedstream.audit.KafkaAudit.run(
                            SecuredJob.client(kafka, SecuredJob.ADMIN),
                            Topics.ADAPTER_UPDATES,
                            Topics.GLOBAL_MODELS,
                            "f");
            assertThat(audit.findings())
                    .allSatisfy(f -> assertThat(f.ok()).as(f.detail()).isTrue());
            assertThat(audit.ok()).isTrue();
            assertThat(audit.versionsRead()).isEqualTo(3);
        }
    }

    private static AdapterUpdate update(
            String id, String site, long base, long examples, float value) {
        return Fixtures.update(id, base, examples, Fixtures.constantDelta(value))
                .setSiteId(site)
                .build();
    }

    private static ProducerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        return new ProducerRecord<>(Topics.ADAPTER_UPDATES, key, value);
    }

    /** Every version on {@code global-models}, read as {@code principal}. */
    private static List<GlobalModel> versionsAs(EmbeddedKafka kafka, String principal) {
        List<GlobalModel> versions = new ArrayList<>();
        GlobalModelAssembler assembler = new GlobalModelAssembler();
        TopicReader.readAll(
                SecuredJob.client(kafka, principal),
                Topics.GLOBAL_MODELS,
                r -> versions.addAll(assembler.accept(r.value())));
        return versions;
    }
}
