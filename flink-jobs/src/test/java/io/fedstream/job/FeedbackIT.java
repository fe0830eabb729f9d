package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.kafka.FederationAcls;
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
import org.apache.kafka.common.acl.AclBinding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rejections reach the site that must act, and no other: on a broker with SCRAM and the ACLs of
 * {@link FederationAcls} (feedback ones included), hostile records go to {@code rejected-updates}
 * for the operator, and the one sent in registered site b's name also to {@code
 * rejected-updates.site-b}, which b reads (read_committed) and a may not.
 */
class FeedbackIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    @TempDir Path dir;

    @Test
    void aSiteLearnsOfItsOwnRejectionsOnly() throws Exception {
        SigningSites sites = SigningSites.generate("site-a", "site-b");
        Path registry = sites.writeRegistry(dir.resolve("site-keys.json"));
        FederationAcls.Topics t = FederationAcls.Topics.DEFAULT;
        List<AclBinding> feedbackAcls = new ArrayList<>();
        feedbackAcls.addAll(FederationAcls.forJobFeedback(SecuredJob.JOB_USER, t));
        for (String s : List.of("site-a", "site-b")) {
            feedbackAcls.addAll(FederationAcls.forSiteFeedback(s, s, t));
        }
        try (EmbeddedKafka kafka = SecuredJob.broker(List.of("site-a", "site-b"), feedbackAcls)) {
            JobClient client = SecuredJob.start(kafka, dir, 1, registry, "feedback");

            byte[] fed = "f".getBytes(StandardCharsets.UTF_8);
            try (KafkaProducer<byte[], byte[]> a = SecuredJob.producer(kafka, "site-a");
                    KafkaProducer<byte[], byte[]> b = SecuredJob.producer(kafka, "site-b")) {
                // b forgets to sign: b must hear of it
                b.send(record(fed, AvroCodec.ADAPTER_UPDATE.encode(update("site-b/v0", "site-b"))))
                        .get();
                // a sends garbage, and an update in the name of a site nobody registered
                a.send(record(fed, "not avro".getBytes(StandardCharsets.UTF_8))).get();
                AdapterUpdate mallory = update("mallory/v0", "mallory");
                UpdateSigning.sign(mallory, sites.keyId("site-a"), sites.privateKey("site-a"));
                a.send(record(fed, AvroCodec.ADAPTER_UPDATE.encode(mallory))).get();
                // and one good update of its own
                AdapterUpdate good = update("site-a/v0", "site-a");
                UpdateSigning.sign(good, sites.keyId("site-a"), sites.privateKey("site-a"));
                a.send(record(fed, AvroCodec.ADAPTER_UPDATE.encode(good))).get();
            }

            List<RejectedUpdate> all = new ArrayList<>();
            List<RejectedUpdate> toB = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while ((all.size() < 3 || toB.isEmpty()) && System.nanoTime() < deadline) {
                all.clear();
                toB.clear();
                io.fedstream.schemas.kafka.TopicReader.readAll(
                        SecuredJob.client(kafka, SecuredJob.ADMIN),
                        Topics.REJECTED_UPDATES,
                        r -> all.add(AvroCodec.REJECTED_UPDATE.decode(r.value())));
                if (topicExists(kafka, Topics.feedback("site-b"))) {
                    io.fedstream.schemas.kafka.TopicReader.readAll(
                            SecuredJob.client(kafka, "site-b"),
                            Topics.feedback("site-b"),
                            r -> toB.add(AvroCodec.REJECTED_UPDATE.decode(r.value())));
                }
                Thread.sleep(300);
            }
            assertThat(client.getJobStatus().get().isGloballyTerminalState()).isFalse();
            client.cancel().get();

            assertThat(all)
                    .extracting(RejectedUpdate::getReason)
                    .containsExactlyInAnyOrder(
                            RejectReason.MISSING_SIGNATURE,
                            RejectReason.NOT_AVRO,
                            RejectReason.UNKNOWN_SITE);
            // b sees its own rejection with reason and detail, once
            assertThat(toB)
                    .extracting(
                            RejectedUpdate::getSiteId,
                            RejectedUpdate::getUpdateId,
                            RejectedUpdate::getReason)
                    .containsExactly(tuple("site-b", "site-b/v0", RejectReason.MISSING_SIGNATURE));
            assertThat(toB.get(0).getDetail()).isNotBlank();
            // nobody was told about the garbage or the unregistered site, and a had nothing
            // rejected
            assertThat(topicExists(kafka, Topics.feedback("mallory"))).isFalse();
            assertThat(topicExists(kafka, Topics.feedback("site-a"))).isFalse();
            // a may not read b's feedback
            assertThatThrownBy(
                            () ->
                                    io.fedstream.schemas.kafka.TopicReader.readAll(
                                            SecuredJob.client(kafka, "site-a"),
                                            Topics.feedback("site-b"),
                                            r -> {}))
                    .hasStackTraceContaining("Authorization");
        }
    }

    private static boolean topicExists(EmbeddedKafka kafka, String topic) throws Exception {
        try (org.apache.kafka.clients.admin.Admin admin =
                org.apache.kafka.clients.admin.Admin.create(
                        SecuredJob.client(kafka, SecuredJob.ADMIN))) {
            return admin.listTopics().names().get().contains(topic);
        }
    }

    private static AdapterUpdate update(String id, String site) {
        return Fixtures.update(id, 0, 10, Fixtures.constantDelta(0.1f)).setSiteId(site).build();
    }

    private static ProducerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        return new ProducerRecord<>(Topics.ADAPTER_UPDATES, key, value);
    }
}
