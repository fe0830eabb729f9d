package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.job.adapter.KafkaLatestVersionLookup;
import io.fedstream.job.adapter.LatestVersionLookup;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.Tensor;
import io.fedstream.testing.MiniClusters;
import io.fedstream.testing.TestTopics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The whole job on a real broker with Kafka's default record limits and a Flink MiniCluster at
 * parallelism 2. Alpha's 64 parameters travel in chunks of 20 (20, 20, 20, 4); updates arrive both
 * chunked and whole.
 */
class AggregationJobIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    static EmbeddedKafka kafka;

    static final FederationSpec ALPHA =
            new FederationSpec(
                    "alpha",
                    1,
                    List.of(TensorSpec.normal("A", 0.1, 4, 8), TensorSpec.zeros("B", 8, 4)),
                    20);
    static final FederationSpec BETA =
            new FederationSpec("beta", 2, List.of(TensorSpec.uniform("w", 0.5, 16)));

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.builder().start();
        kafka.createTopic(Topics.ADAPTER_UPDATES, 2, Map.of());
        kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
        kafka.createTopic(Topics.REJECTED_UPDATES, 1, Map.of());
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static AdapterUpdate update(
            FederationSpec spec, String id, String site, long base, long n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Tensor> tensors = new ArrayList<>();
        for (TensorSpec t : spec.tensors()) {
            float[] v = new float[t.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rnd.nextDouble() - 0.5);
            }
            tensors.add(TensorCodec.float32(t.name(), t.shape(), v));
        }
        return AdapterUpdate.newBuilder()
                .setUpdateId(id)
                .setFederationId(spec.id())
                .setSiteId(site)
                .setBaseVersion(base)
                .setNumExamples(n)
                .setTensors(tensors)
                .setCreatedAtMs(Instant.now())
                .build();
    }

    @Test
    void aggregatesTwoFederationsExactlyOnceAndDeadLettersHostileRecords() throws Exception {
        // arrange
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(FedStreamOptions.ROUND_QUORUM, 2);
        conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        conf.set(FedStreamOptions.PARALLELISM, 2);
        conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(ALPHA, BETA), AggregationJob.Io.kafka(conf));

        List<AdapterUpdate> sent = new ArrayList<>();
        sent.add(update(ALPHA, "a1", "s1", 0, 10, 1));
        sent.add(update(ALPHA, "a2", "s2", 0, 30, 2));
        sent.add(update(BETA, "b1", "s1", 0, 5, 3));
        sent.add(update(ALPHA, "a3", "s3", 0, 20, 4)); // lands in round 2 with staleness 1
        sent.add(update(BETA, "b2", "s2", 0, 7, 5));
        sent.add(update(ALPHA, "a4", "s1", 1, 10, 6));
        AdapterUpdate nan = update(ALPHA, "bad-nan", "s9", 0, 10, 7);
        float[] poisoned = new float[32];
        poisoned[5] = Float.NaN;
        nan.getTensors().set(0, TensorCodec.float32("A", new int[] {4, 8}, poisoned));

        // act
        JobClient job = env.executeAsync("aggregation-it");
        try (KafkaProducer<byte[], byte[]> producer = TestTopics.producer(kafka)) {
            producer.send(record("alpha", "this is not avro".getBytes(StandardCharsets.UTF_8)));
            producer.send(record("alpha", AvroCodec.ADAPTER_UPDATE.encode(nan)));
            producer.send(
                    record(
                            "gamma",
                            AvroCodec.ADAPTER_UPDATE.encode(update(ALPHA, "g1", "s1", 0, 1, 8))));
            boolean chunked = true;
            for (AdapterUpdate u : sent) {
                if (u.getUpdateId().equals("a3")) {
                    // out of order: the manifest first, chunks backwards, one of them twice
                    UpdateChunking.Chunked c = UpdateChunking.split(u, ALPHA.layout());
                    producer.send(record("alpha", AvroCodec.UPDATE_MANIFEST.encode(c.manifest())));
                    for (int i = c.chunks().size() - 1; i >= 0; i--) {
                        producer.send(
                                record("alpha", AvroCodec.UPDATE_CHUNK.encode(c.chunks().get(i))));
                    }
                    producer.send(
                            record("alpha", AvroCodec.UPDATE_CHUNK.encode(c.chunks().get(1))));
                    chunked = !chunked;
                    continue;
                }
                send(producer, u, chunked = !chunked);
            }
            // a2's chunks again after it was accepted (a worker resending): harmless
            for (var chunk : UpdateChunking.split(sent.get(1), ALPHA.layout()).chunks()) {
                producer.send(record("alpha", AvroCodec.UPDATE_CHUNK.encode(chunk)));
            }
            producer.send(record("alpha", AvroCodec.ADAPTER_UPDATE.encode(sent.get(0)))); // replay
            producer.flush();
        }
        List<GlobalModel> versions =
                TestTopics.readUntil(
                        kafka,
                        Topics.GLOBAL_MODELS,
                        new GlobalModelAssembler()::accept,
                        l ->
                                l.stream().filter(g -> g.getFederationId().equals("alpha")).count()
                                                >= 3
                                        && l.stream()
                                                        .filter(
                                                                g ->
                                                                        g.getFederationId()
                                                                                .equals("beta"))
                                                        .count()
                                                >= 2);
        List<RejectedUpdate> rejected =
                TestTopics.readUntil(
                        kafka,
                        Topics.REJECTED_UPDATES,
                        b -> List.of(AvroCodec.REJECTED_UPDATE.decode(b)),
                        l -> l.size() >= 9);
        job.cancel().get();

        // assert
        Map<String, AdapterUpdate> byId = new HashMap<>();
        sent.forEach(u -> byId.put(u.getUpdateId(), u));
        for (FederationSpec spec : List.of(ALPHA, BETA)) {
            List<GlobalModel> chain =
                    versions.stream().filter(g -> g.getFederationId().equals(spec.id())).toList();
            assertThat(chain)
                    .extracting(GlobalModel::getVersion)
                    .startsWith(0L, 1L)
                    .doesNotHaveDuplicates();
            assertThat(
                            TensorCodec.toMap(chain.get(0).getTensors())
                                    .get(spec.tensors().get(0).name()))
                    .containsExactly(spec.initialValues().get(spec.tensors().get(0).name()));
            for (int v = 1; v < chain.size(); v++) {
                GlobalModel parent = chain.get(v - 1);
                GlobalModel child = chain.get(v);
                assertThat(child.getParentVersion()).isEqualTo(parent.getVersion());
                assertThat(child.getManifest().getTensorsSha256())
                        .isEqualTo(GlobalModelAssembler.digest(child));
                assertThat(TensorCodec.toMap(child.getTensors()))
                        .usingRecursiveComparison()
                        .isEqualTo(recompute(parent, child.getManifest().getContributions(), byId));
            }
        }
        List<String> alphaRound2 =
                versions.stream()
                        .filter(g -> g.getFederationId().equals("alpha") && g.getVersion() == 2)
                        .flatMap(g -> g.getManifest().getContributions().stream())
                        .map(Contribution::getUpdateId)
                        .toList();
        assertThat(alphaRound2).containsExactly("a3", "a4");
        assertThat(
                        versions.stream()
                                .flatMap(g -> g.getManifest().getContributions().stream())
                                .map(Contribution::getUpdateId))
                .doesNotHaveDuplicates()
                .containsExactlyInAnyOrder("a1", "a2", "a3", "a4", "b1", "b2");
        assertThat(rejected)
                .extracting(RejectedUpdate::getReason)
                .containsExactlyInAnyOrder(
                        RejectReason.NOT_AVRO,
                        RejectReason.NON_FINITE,
                        RejectReason.KEY_MISMATCH,
                        RejectReason.DUPLICATE_UPDATE, // the replay of a1
                        RejectReason.DUPLICATE_UPDATE, // a3's second copy of chunk 1
                        RejectReason.DUPLICATE_UPDATE, // a2's four chunks sent again
                        RejectReason.DUPLICATE_UPDATE,
                        RejectReason.DUPLICATE_UPDATE,
                        RejectReason.DUPLICATE_UPDATE);
        // a job started again without state continues from each federation's newest version
        LatestVersionLookup lookup =
                new KafkaLatestVersionLookup(kafka.clientProperties(), Topics.GLOBAL_MODELS);
        for (FederationSpec spec : List.of(ALPHA, BETA)) {
            GlobalModel newest =
                    versions.stream()
                            .filter(g -> g.getFederationId().equals(spec.id()))
                            .max(Comparator.comparingLong(GlobalModel::getVersion))
                            .orElseThrow();
            assertThat(lookup.latest(spec.id())).hasValue(newest);
        }
        assertThat(lookup.latest("gamma")).isEmpty();
    }

    /** The FedAvg of the manifest's updates, computed here from the raw updates. */
    private static Map<String, float[]> recompute(
            GlobalModel parent, List<Contribution> contributions, Map<String, AdapterUpdate> byId) {
        Map<String, float[]> base = TensorCodec.toMap(parent.getTensors());
        Map<String, double[]> sums = new HashMap<>();
        double total = 0;
        for (Contribution c : contributions) {
            AdapterUpdate u = byId.get(c.getUpdateId());
            long staleness = parent.getVersion() - u.getBaseVersion();
            double w = u.getNumExamples() * Math.pow(1 + staleness, -0.5);
            assertThat(c.getWeight()).isEqualTo(w);
            total += w;
            for (Map.Entry<String, float[]> d : TensorCodec.toMap(u.getTensors()).entrySet()) {
                double[] s = sums.computeIfAbsent(d.getKey(), k -> new double[d.getValue().length]);
                for (int i = 0; i < s.length; i++) {
                    s[i] += w * d.getValue()[i];
                }
            }
        }
        Map<String, float[]> out = new HashMap<>();
        for (Map.Entry<String, float[]> b : base.entrySet()) {
            float[] o = new float[b.getValue().length];
            for (int i = 0; i < o.length; i++) {
                o[i] = (float) (b.getValue()[i] + 1.0 / total * sums.get(b.getKey())[i]);
            }
            out.put(b.getKey(), o);
        }
        return out;
    }

    /** Sends an update whole or as its chunks and manifest (the worker's way). */
    static void send(KafkaProducer<byte[], byte[]> producer, AdapterUpdate u, boolean chunked) {
        if (!chunked) {
            producer.send(record(u.getFederationId(), AvroCodec.ADAPTER_UPDATE.encode(u)));
            return;
        }
        FederationSpec spec = u.getFederationId().equals(ALPHA.id()) ? ALPHA : BETA;
        UpdateChunking.Chunked c = UpdateChunking.split(u, spec.layout());
        for (var chunk : c.chunks()) {
            producer.send(record(u.getFederationId(), AvroCodec.UPDATE_CHUNK.encode(chunk)));
        }
        producer.send(record(u.getFederationId(), AvroCodec.UPDATE_MANIFEST.encode(c.manifest())));
    }

    private static ProducerRecord<byte[], byte[]> record(String key, byte[] value) {
        return new ProducerRecord<>(
                Topics.ADAPTER_UPDATES, key.getBytes(StandardCharsets.UTF_8), value);
    }
}
