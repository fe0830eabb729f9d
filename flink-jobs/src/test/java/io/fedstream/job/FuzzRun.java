package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.stream.LongStream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One run of the aggregation job over a fixed stream of records, on topics of its own ({@code
 * <prefix>-updates}, {@code -global}, {@code -rejected}): what {@link FuzzIT} and {@link
 * ChunkFuzzIT} do once on the genuine records and once on the fuzzed stream.
 */
final class FuzzRun {

    /**
     * How long a run may take to publish its versions, and then its dead letters: a run takes about
     * 25 s on a quiet 2-core machine but 160-190 s at load 25-50, where a two-minute wait ended
     * before the last dead letters in two of eight runs of ChunkFuzzIT.
     */
    private static final Duration PATIENCE = Duration.ofMinutes(5);

    private FuzzRun() {}

    /** What a run published and dead-lettered. */
    record Output(List<GlobalModel> models, List<RejectedUpdate> rejected, List<String> counted) {
        /** {@code v<version> <digest>} per version: what the clean and the fuzzed run agree on. */
        List<String> versions() {
            return models.stream()
                    .map(g -> "v" + g.getVersion() + " " + g.getManifest().getTensorsSha256())
                    .toList();
        }
    }

    /**
     * Creates the prefix's topics (updates with 2 partitions) and sends {@code values} to the
     * updates topic keyed {@code key}, in order; returns each record's {@code partition@offset}.
     */
    static List<String> send(EmbeddedKafka kafka, String prefix, String key, List<byte[]> values)
            throws Exception {
        kafka.createTopic(prefix + "-updates", 2, Map.of());
        kafka.createTopic(prefix + "-global", 1, Map.of());
        kafka.createTopic(prefix + "-rejected", 1, Map.of());
        try (KafkaProducer<byte[], byte[]> p =
                new KafkaProducer<>(
                        kafka.clientProperties(),
                        new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            List<Future<RecordMetadata>> acks = new ArrayList<>();
            for (byte[] value : values) {
                acks.add(
                        p.send(
                                new ProducerRecord<>(
                                        prefix + "-updates",
                                        key.getBytes(StandardCharsets.UTF_8),
                                        value)));
            }
            p.flush();
            List<String> coordinates = new ArrayList<>();
            for (Future<RecordMetadata> ack : acks) {
                RecordMetadata md = ack.get();
                coordinates.add(md.partition() + "@" + md.offset());
            }
            return coordinates;
        }
    }

    /**
     * The job's configuration on the prefix's topics: signed updates ({@code registry}), rounds of
     * 3 with no deadline to speak of, at most 1000 examples, parallelism 2, and no restarts (any
     * failure fails the test).
     */
    static Configuration configuration(EmbeddedKafka kafka, String prefix, Path registry) {
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(FedStreamOptions.UPDATES_TOPIC, prefix + "-updates");
        conf.set(FedStreamOptions.GLOBAL_MODELS_TOPIC, prefix + "-global");
        conf.set(FedStreamOptions.REJECTED_TOPIC, prefix + "-rejected");
        conf.set(FedStreamOptions.CONSUMER_GROUP, prefix);
        conf.set(FedStreamOptions.TRANSACTIONAL_ID_PREFIX, prefix);
        conf.set(FedStreamOptions.SITE_KEYS_FILE, registry.toString());
        conf.set(FedStreamOptions.ROUND_QUORUM, 3);
        conf.set(FedStreamOptions.ROUND_TIMEOUT, Duration.ofHours(1));
        conf.set(FedStreamOptions.MAX_EXAMPLES, 1000L);
        conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        conf.set(FedStreamOptions.PARALLELISM, 2);
        conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        return conf;
    }

    /**
     * Runs the job for {@code spec} until {@code expectedVersions} versions and {@code
     * expectedRejected} dead letters are in, checks that it is still running and cancels it; checks
     * that the versions are 0, 1, ... and that their manifests count {@code genuine} updates, each
     * once.
     */
    static Output run(
            EmbeddedKafka kafka,
            String prefix,
            Configuration conf,
            FederationSpec spec,
            int genuine,
            int expectedVersions,
            int expectedRejected)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(spec), AggregationJob.Io.kafka(conf));
        JobClient job = env.executeAsync(prefix);

        List<GlobalModel> models =
                ExactlyOnceIT.readVersions(kafka, prefix + "-global", expectedVersions, PATIENCE);
        List<byte[]> rejected =
                ExactlyOnceIT.readUntil(kafka, prefix + "-rejected", expectedRejected, PATIENCE);
        assertThat(job.getJobStatus().get().isGloballyTerminalState())
                .as("the job is still running")
                .isFalse();
        job.cancel().get();

        assertThat(models)
                .extracting(GlobalModel::getVersion)
                .containsExactlyElementsOf(LongStream.range(0, expectedVersions).boxed().toList());
        List<String> counted =
                models.stream()
                        .flatMap(g -> g.getManifest().getContributions().stream())
                        .map(Contribution::getUpdateId)
                        .toList();
        assertThat(counted)
                .as("every genuine update exactly once")
                .hasSize(genuine)
                .doesNotHaveDuplicates();
        return new Output(
                models, rejected.stream().map(AvroCodec.REJECTED_UPDATE::decode).toList(), counted);
    }
}
