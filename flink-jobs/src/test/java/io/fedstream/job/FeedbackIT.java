package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.kafka.FederationAcls;
import io.fedstream.testing.MiniClusters;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
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
        Map<String, String> users =
                Map.of(
                        "admin", "admin-pw",
                        "fedstream-job", "job-pw",
                        "site-a", "a-pw",
                        "site-b", "b-pw");
        var keyA = SiteKeys.generate();
        var keyB = SiteKeys.generate();
        Path registry = dir.resolve("site-keys.json");
        new SiteKeys(
                        Map.of(
                                "site-a",
                                List.of(
                                        new SiteKeys.Entry(
                                                "ka", SiteKeys.encode(keyA.getPublic()))),
                                "site-b",
                                List.of(
                                        new SiteKeys.Entry(
                                                "kb", SiteKeys.encode(keyB.getPublic())))))
                .write(registry);
        FederationAcls.Topics t = FederationAcls.Topics.DEFAULT;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().scram(users, "admin").start()) {
            kafka.createTopic(Topics.ADAPTER_UPDATES, 2, Map.of());
            kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
            kafka.createTopic(Topics.REJECTED_UPDATES, 1, Map.of());
            List<org.apache.kafka.common.acl.AclBinding> acls = new ArrayList<>();
            acls.addAll(FederationAcls.forAggregationJob("fedstream-job", t));
            acls.addAll(FederationAcls.forJobFeedback("fedstream-job", t));
            for (String s : List.of("site-a", "site-b")) {
                acls.addAll(FederationAcls.forSite(s, t));
                acls.addAll(FederationAcls.forSiteFeedback(s, s, t));
            }
            kafka.createAcls(acls);
            Properties job = kafka.clientProperties("fedstream-job", "job-pw");
            job.remove("bootstrap.servers");
            Path jobProps = dir.resolve("job.properties");
            try (var out = Files.newBufferedWriter(jobProps)) {
                job.store(out, "the job's Kafka identity");
            }
            Configuration conf = new Configuration();
            conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            conf.set(FedStreamOptions.CLIENT_PROPERTIES_FILE, jobProps.toString());
            conf.set(FedStreamOptions.SITE_KEYS_FILE, registry.toString());
            conf.set(FedStreamOptions.ROUND_QUORUM, 1);
            conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
            conf.set(FedStreamOptions.PARALLELISM, 2);
            conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(conf);
            AggregationJob.configureEnvironment(env, conf);
            AggregationJob.build(env, conf, List.of(Fixtures.SPEC), AggregationJob.Io.kafka(conf));
            JobClient client = env.executeAsync("feedback");

            byte[] fed = "f".getBytes(StandardCharsets.UTF_8);
            try (KafkaProducer<byte[], byte[]> a = producer(kafka, "site-a", "a-pw");
                    KafkaProducer<byte[], byte[]> b = producer(kafka, "site-b", "b-pw")) {
                // b forgets to sign: b must hear of it
                b.send(record(fed, AvroCodec.ADAPTER_UPDATE.encode(update("site-b/v0", "site-b"))))
                        .get();
                // a sends garbage, and an update in the name of a site nobody registered
                a.send(record(fed, "not avro".getBytes(StandardCharsets.UTF_8))).get();
                AdapterUpdate mallory = update("mallory/v0", "mallory");
                UpdateSigning.sign(mallory, "ka", keyA.getPrivate());
                a.send(record(fed, AvroCodec.ADAPTER_UPDATE.encode(mallory))).get();
                // and one good update of its own
                AdapterUpdate good = update("site-a/v0", "site-a");
                UpdateSigning.sign(good, "ka", keyA.getPrivate());
                a.send(record(fed, AvroCodec.ADAPTER_UPDATE.encode(good))).get();
            }

            List<RejectedUpdate> all = new ArrayList<>();
            List<RejectedUpdate> toB = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while ((all.size() < 3 || toB.isEmpty()) && System.nanoTime() < deadline) {
                all.clear();
                toB.clear();
                io.fedstream.schemas.kafka.TopicReader.readAll(
                        kafka.clientProperties("admin", "admin-pw"),
                        Topics.REJECTED_UPDATES,
                        r -> all.add(AvroCodec.REJECTED_UPDATE.decode(r.value())));
                if (topicExists(kafka, Topics.feedback("site-b"))) {
                    io.fedstream.schemas.kafka.TopicReader.readAll(
                            kafka.clientProperties("site-b", "b-pw"),
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
                                            kafka.clientProperties("site-a", "a-pw"),
                                            Topics.feedback("site-b"),
                                            r -> {}))
                    .hasStackTraceContaining("Authorization");
        }
    }

    private static boolean topicExists(EmbeddedKafka kafka, String topic) throws Exception {
        try (org.apache.kafka.clients.admin.Admin admin =
                org.apache.kafka.clients.admin.Admin.create(
                        kafka.clientProperties("admin", "admin-pw"))) {
            return admin.listTopics().names().get().contains(topic);
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(
            EmbeddedKafka kafka, String user, String password) {
        return new KafkaProducer<>(
                kafka.clientProperties(user, password),
                new ByteArraySerializer(),
                new ByteArraySerializer());
    }

    private static AdapterUpdate update(String id, String site) {
        return Fixtures.update(id, 0, 10, Fixtures.constantDelta(0.1f)).setSiteId(site).build();
    }

    private static ProducerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        return new ProducerRecord<>(Topics.ADAPTER_UPDATES, key, value);
    }
}
