package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.security.FederationAcls;
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
 * The job on a broker with SASL/SCRAM and ACLs: under its own principal and exactly the ACLs of
 * {@link FederationAcls#forAggregationJob}, it reads a site's updates and publishes versions the
 * site can read, transactions included.
 */
class SecuredJobIT {

    @RegisterExtension static final MiniClusterExtension FLINK = Flink.miniCluster(2);

    @TempDir Path dir;

    @Test
    void theJobRunsUnderItsOwnPrincipalAndAcls() throws Exception {
        Map<String, String> users =
                Map.of("admin", "admin-pw", "fedstream-job", "job-pw", "site-1", "site-pw");
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().scram(users, "admin").start()) {
            kafka.createTopic(Topics.ADAPTER_UPDATES, 2, Map.of());
            kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
            kafka.createTopic(Topics.REJECTED_UPDATES, 1, Map.of());
            List<org.apache.kafka.common.acl.AclBinding> acls = new ArrayList<>();
            acls.addAll(
                    FederationAcls.forAggregationJob(
                            "fedstream-job", FederationAcls.Topics.DEFAULT));
            acls.addAll(FederationAcls.forSite("site-1", FederationAcls.Topics.DEFAULT));
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
            conf.set(FedStreamOptions.ROUND_QUORUM, 2);
            conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
            conf.set(FedStreamOptions.PARALLELISM, 2);
            conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(conf);
            AggregationJob.configureEnvironment(env, conf);
            AggregationJob.build(env, conf, List.of(Fixtures.SPEC), AggregationJob.Io.kafka(conf));

            JobClient client = env.executeAsync("secured");
            try (KafkaProducer<byte[], byte[]> site =
                    new KafkaProducer<>(
                            kafka.clientProperties("site-1", "site-pw"),
                            new ByteArraySerializer(),
                            new ByteArraySerializer())) {
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
                io.fedstream.schemas.GlobalModelAssembler assembler =
                        new io.fedstream.schemas.GlobalModelAssembler();
                io.fedstream.audit.TopicReader.readAll(
                        kafka.clientProperties("site-1", "site-pw"),
                        Topics.GLOBAL_MODELS,
                        r -> versions.addAll(assembler.accept(r.value())));
                Thread.sleep(300);
            }
            assertThat(client.getJobStatus().get().isGloballyTerminalState()).isFalse();
            client.cancel().get();

            assertThat(versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
        }
    }
}
