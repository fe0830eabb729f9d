package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.UpdateSigning;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Thousands of mutated records (bit flips, truncations, garbage, field mutations, replays)
 * interleaved with genuine signed updates: the job keeps running, dead-letters every record it does
 * not accept with a known reason, counts each genuine update exactly once, and publishes the same
 * versions as a run on the genuine updates alone.
 */
class FuzzIT {
    static final int GENUINE = 24;
    static final int MUTANTS_PER_UPDATE = 125; // 3000 mutants

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    @TempDir Path dir;

    @Test
    void mutatedRecordsNeverChangeAVersionNorStopTheJob() throws Exception {
        var key = SiteKeys.generate();
        Path registry = dir.resolve("keys.json");
        new SiteKeys(
                        Map.of(
                                "site-1",
                                List.of(new SiteKeys.Entry("k", SiteKeys.encode(key.getPublic())))))
                .write(registry);
        List<byte[]> genuine = new ArrayList<>();
        for (int i = 0; i < GENUINE; i++) {
            AdapterUpdate u = ExactlyOnceIT.update(Fixtures.SPEC, i);
            u.setSiteId("site-1");
            u.setTensors(
                    Fixtures.update("x", 0, 1, Fixtures.constantDelta(0.01f * (i + 1)))
                            .build()
                            .getTensors());
            UpdateSigning.sign(u, "k", key.getPrivate());
            genuine.add(AvroCodec.ADAPTER_UPDATE.encode(u));
        }
        SplittableRandom rnd = new SplittableRandom(2026);
        List<byte[]> stream = new ArrayList<>();
        for (int i = 0; i < genuine.size(); i++) {
            for (int m = 0; m < MUTANTS_PER_UPDATE; m++) {
                stream.add(mutate(genuine.get(i), genuine.subList(0, i), rnd));
            }
            stream.add(genuine.get(i));
        }

        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            List<String> clean = run(kafka, "clean", genuine, registry);
            List<String> fuzzed = run(kafka, "fuzz", stream, registry);

            assertThat(fuzzed).containsExactlyElementsOf(clean);
        }
    }

    private List<String> run(
            EmbeddedKafka kafka, String prefix, List<byte[]> records, Path registry)
            throws Exception {
        kafka.createTopic(prefix + "-updates", 2, Map.of());
        kafka.createTopic(prefix + "-global", 1, Map.of());
        kafka.createTopic(prefix + "-rejected", 1, Map.of());
        try (KafkaProducer<byte[], byte[]> p =
                new KafkaProducer<>(
                        kafka.clientProperties(),
                        new ByteArraySerializer(),
                        new ByteArraySerializer())) {
            for (byte[] r : records) {
                p.send(
                        new ProducerRecord<>(
                                prefix + "-updates", "f".getBytes(StandardCharsets.UTF_8), r));
            }
            p.flush();
        }
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
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // any failure fails the test
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(Fixtures.SPEC), AggregationJob.Io.kafka(conf));
        JobClient job = env.executeAsync(prefix);

        int expectedVersions = 1 + GENUINE / 3;
        int expectedRejected = records.size() - GENUINE;
        List<GlobalModel> models =
                ExactlyOnceIT.readVersions(
                        kafka, prefix + "-global", expectedVersions, Duration.ofMinutes(2));
        List<byte[]> rejected =
                ExactlyOnceIT.readUntil(
                        kafka, prefix + "-rejected", expectedRejected, Duration.ofMinutes(2));
        assertThat(job.getJobStatus().get().isGloballyTerminalState())
                .as("the job is still running")
                .isFalse();
        job.cancel().get();

        assertThat(models)
                .extracting(GlobalModel::getVersion)
                .containsExactlyElementsOf(
                        java.util.stream.LongStream.range(0, expectedVersions).boxed().toList());
        List<String> counted =
                models.stream()
                        .flatMap(g -> g.getManifest().getContributions().stream())
                        .map(Contribution::getUpdateId)
                        .toList();
        assertThat(counted)
                .as("every genuine update exactly once")
                .hasSize(GENUINE)
                .doesNotHaveDuplicates();
        Map<RejectReason, Integer> reasons = new EnumMap<>(RejectReason.class);
        for (byte[] r : rejected) {
            RejectedUpdate d = AvroCodec.REJECTED_UPDATE.decode(r);
            reasons.merge(d.getReason(), 1, Integer::sum);
        }
        assertThat(rejected).as("every other record dead-lettered once").hasSize(expectedRejected);
        assertThat(reasons).doesNotContainKey(RejectReason.UNKNOWN);
        if (!prefix.equals("clean")) {
            System.out.println(
                    "fuzz: " + records.size() + " records, rejected by reason: " + reasons);
        }
        return models.stream()
                .map(g -> "v" + g.getVersion() + " " + g.getManifest().getTensorsSha256())
                .toList();
    }

    /**
     * A mutant of a genuine record: damaged bytes, a tampered field, or a replay of a genuine
     * update sent before it.
     */
    private static byte[] mutate(byte[] g, List<byte[]> sent, SplittableRandom rnd) {
        byte[] m;
        switch (rnd.nextInt(8)) {
            case 0 -> { // bit flips anywhere
                m = g.clone();
                for (int k = 1 + rnd.nextInt(8); k > 0; k--) {
                    int i = rnd.nextInt(m.length);
                    m[i] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> m = java.util.Arrays.copyOf(g, rnd.nextInt(g.length)); // truncation
            case 2 -> { // trailing garbage
                m = java.util.Arrays.copyOf(g, g.length + 1 + rnd.nextInt(64));
                for (int i = g.length; i < m.length; i++) {
                    m[i] = (byte) rnd.nextInt(256);
                }
            }
            case 3 -> { // pure noise, sometimes with a valid header
                m = new byte[rnd.nextInt(400)];
                for (int i = 0; i < m.length; i++) {
                    m[i] = (byte) rnd.nextInt(256);
                }
                if (m.length > 10 && rnd.nextBoolean()) {
                    System.arraycopy(g, 0, m, 0, 10);
                }
            }
            case 4 -> // a replay of a genuine update already sent
                    m = sent.isEmpty() ? g.clone() : sent.get(rnd.nextInt(sent.size())).clone();
            default -> { // a decodable record with a tampered field
                AdapterUpdate u = AvroCodec.ADAPTER_UPDATE.decode(g);
                switch (rnd.nextInt(6)) {
                    case 0 ->
                            u.setNumExamples(u.getNumExamples() * (rnd.nextBoolean() ? 1000 : -1));
                    case 1 -> u.setBaseVersion(u.getBaseVersion() + 1 + rnd.nextInt(5));
                    case 2 -> u.setUpdateId(u.getUpdateId() + "-x");
                    case 3 -> u.setSiteId(rnd.nextBoolean() ? "site-2" : "site-1 ");
                    case 4 -> u.setSignature(null);
                    default -> {
                        var data = u.getTensors().get(rnd.nextInt(u.getTensors().size())).getData();
                        data.put(rnd.nextInt(data.remaining()), (byte) rnd.nextInt(256));
                    }
                }
                m = AvroCodec.ADAPTER_UPDATE.encode(u);
            }
        }
        return m;
    }
}
