package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.schemas.avro.Tensor;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.testing.MiniClusters;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * 40 MB updates (10M float32 parameters, 77 chunks of the default 131072 elements) cross a real
 * broker whose topics, producers and consumers all keep Kafka's default 1 MB record limits, and the
 * job (MiniCluster, parallelism 2, so a version's chunks are aggregated on both subtasks) publishes
 * versions that are bit for bit an independent recomputation. An update whose last chunk arrives
 * after a round closed belongs to the next round; a lost chunk and a corrupted one lead to
 * rejections, never to a version.
 */
class LargeUpdateIT {
    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    static final FederationSpec LARGE =
            new FederationSpec(
                    "large",
                    5,
                    List.of(
                            TensorSpec.normal("w1", 0.02, 2500, 2000),
                            TensorSpec.zeros("w2", 2000, 2500)));

    static EmbeddedKafka kafka;

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.builder().start();
        kafka.createTopic("updates", 2, Map.of()); // default max.message.bytes (about 1 MB)
        kafka.createTopic("global", 1, Map.of());
        kafka.createTopic("rejected", 1, Map.of());
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static AdapterUpdate update(String id, long base, long n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Tensor> tensors = new ArrayList<>();
        for (TensorSpec t : LARGE.tensors()) {
            float[] v = new float[t.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((rnd.nextDouble() - 0.5) * 0.01);
            }
            tensors.add(TensorCodec.float32(t.name(), t.shape(), v));
        }
        return AdapterUpdate.newBuilder()
                .setUpdateId(id)
                .setFederationId(LARGE.id())
                .setSiteId("site-" + id)
                .setBaseVersion(base)
                .setNumExamples(n)
                .setTensors(tensors)
                .setCreatedAtMs(Instant.now())
                .build();
    }

    @Test
    void fortyMegabyteUpdatesAreAggregatedBitForBitWithDefaultKafkaLimits() throws Exception {
        // arrange
        Path checkpoints = Files.createTempDirectory("large-it-checkpoints");
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(FedStreamOptions.UPDATES_TOPIC, "updates");
        conf.set(FedStreamOptions.GLOBAL_MODELS_TOPIC, "global");
        conf.set(FedStreamOptions.REJECTED_TOPIC, "rejected");
        conf.set(FedStreamOptions.ROUND_QUORUM, 2);
        conf.set(FedStreamOptions.ROUND_TIMEOUT, Duration.ofMinutes(5));
        conf.set(FedStreamOptions.ASSEMBLY_TIMEOUT, Duration.ofSeconds(40));
        conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(1000));
        conf.set(FedStreamOptions.PARALLELISM, 2);
        conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
        conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(LARGE), AggregationJob.Io.kafka(conf));
        ChunkLayout layout = LARGE.layout();
        Map<String, AdapterUpdate> byId = new HashMap<>();
        for (String[] u :
                new String[][] {
                    {"u1", "0", "10", "1"},
                    {"u2", "0", "30", "2"},
                    {"late", "0", "20", "3"},
                    {"u3", "1", "15", "4"},
                    {"lost", "0", "5", "5"},
                    {"corrupt", "0", "5", "6"}
                }) {
            byId.put(
                    u[0],
                    update(u[0], Long.parseLong(u[1]), Long.parseLong(u[2]), Long.parseLong(u[3])));
        }
        UpdateChunking.Chunked late = UpdateChunking.split(byId.get("late"), layout);
        int lateChunk = 40;

        // act
        JobClient job = env.executeAsync("large-update-it");
        List<GlobalModel> versions = new ArrayList<>();
        List<RejectedUpdate> rejected = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = producer();
                Reader global = new Reader("global");
                Reader dead = new Reader("rejected")) {
            GlobalModelAssembler assembler = new GlobalModelAssembler();
            global.until(versions, assembler::accept, l -> l.size() >= 1); // version 0
            for (int c = 0; c < late.chunks().size(); c++) {
                if (c != lateChunk) {
                    send(producer, AvroCodec.UPDATE_CHUNK.encode(late.chunks().get(c)));
                }
            }
            send(producer, AvroCodec.UPDATE_MANIFEST.encode(late.manifest()));
            sendChunked(producer, byId.get("u1"), layout, -1, -1);
            sendChunked(producer, byId.get("u2"), layout, -1, -1);
            sendChunked(producer, byId.get("lost"), layout, 7, -1);
            sendChunked(producer, byId.get("corrupt"), layout, -1, 12);
            producer.flush();
            global.until(versions, assembler::accept, l -> l.size() >= 2); // version 1
            send(producer, AvroCodec.UPDATE_CHUNK.encode(late.chunks().get(lateChunk)));
            sendChunked(producer, byId.get("u3"), layout, -1, -1);
            producer.flush();
            global.until(versions, assembler::accept, l -> l.size() >= 3); // version 2
            dead.until(
                    rejected,
                    b -> List.of(AvroCodec.REJECTED_UPDATE.decode(b)),
                    l -> l.size() >= 3);
            assertThat(assembler.problems()).isEmpty();
        } finally {
            job.cancel().get();
        }

        // assert
        assertThat(versions).extracting(GlobalModel::getVersion).containsExactly(0L, 1L, 2L);
        assertThat(versions.get(0).getChunkSha256()).hasSize(77);
        // (Arrays.equals: AssertJ's containsExactly is quadratic on millions of elements)
        assertThat(
                        java.util.Arrays.equals(
                                TensorCodec.toMap(versions.get(0).getTensors()).get("w1"),
                                LARGE.initialValues().get("w1")))
                .isTrue();
        assertThat(versions.get(1).getManifest().getContributions())
                .extracting(Contribution::getUpdateId)
                .containsExactly("u1", "u2");
        assertThat(versions.get(2).getManifest().getContributions())
                .extracting(Contribution::getUpdateId)
                .containsExactly("late", "u3");
        for (int v = 1; v < versions.size(); v++) {
            GlobalModel parent = versions.get(v - 1);
            GlobalModel child = versions.get(v);
            float[] expected =
                    recompute(
                            layout.flatten(parent.getTensors()),
                            parent.getVersion(),
                            child.getManifest().getContributions(),
                            byId,
                            layout);
            float[] actual = layout.flatten(child.getTensors());
            int differing = 0;
            for (int i = 0; i < expected.length; i++) {
                if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                    differing++;
                }
            }
            assertThat(differing).as("elements of version %d that differ", v).isZero();
            assertThat(GlobalModelAssembler.digest(child))
                    .isEqualTo(child.getManifest().getTensorsSha256());
        }
        assertThat(rejected)
                .extracting(RejectedUpdate::getUpdateId, RejectedUpdate::getReason)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple("lost", RejectReason.MISSING_CHUNK),
                        // the update, and its flipped copy of chunk 12 at its own offset
                        org.assertj.core.groups.Tuple.tuple("corrupt", RejectReason.CORRUPT_CHUNK),
                        org.assertj.core.groups.Tuple.tuple("corrupt", RejectReason.CORRUPT_CHUNK));
    }

    /** parent + Σ wᵢΔᵢ / Σ wᵢ with wᵢ = nᵢ·(1+sᵢ)^-½, in manifest order, in float64. */
    private static float[] recompute(
            float[] parent,
            long parentVersion,
            List<Contribution> contributions,
            Map<String, AdapterUpdate> byId,
            ChunkLayout layout) {
        double[] sums = new double[parent.length];
        double total = 0;
        for (Contribution c : contributions) {
            AdapterUpdate u = byId.get(c.getUpdateId());
            double w =
                    u.getNumExamples() * Math.pow(1 + (parentVersion - u.getBaseVersion()), -0.5);
            assertThat(c.getWeight()).isEqualTo(w);
            total += w;
            float[] d = layout.flatten(u.getTensors());
            for (int i = 0; i < d.length; i++) {
                sums[i] += w * d[i];
            }
        }
        float[] out = new float[parent.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (parent[i] + 1.0 / total * sums[i]);
        }
        return out;
    }

    /** Sends an update's chunks (except {@code skip}; {@code corrupt} with one bit flipped). */
    private static void sendChunked(
            KafkaProducer<byte[], byte[]> producer,
            AdapterUpdate u,
            ChunkLayout layout,
            int skip,
            int corrupt) {
        UpdateChunking.Chunked c = UpdateChunking.split(u, layout);
        for (UpdateChunk chunk : c.chunks()) {
            if (chunk.getChunkIndex() == skip) {
                continue;
            }
            if (chunk.getChunkIndex() == corrupt) {
                byte[] data = new byte[chunk.getData().remaining()];
                chunk.getData().duplicate().get(data);
                data[1000] ^= 0x01;
                chunk.setData(ByteBuffer.wrap(data));
            }
            send(producer, AvroCodec.UPDATE_CHUNK.encode(chunk));
        }
        send(producer, AvroCodec.UPDATE_MANIFEST.encode(c.manifest()));
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, byte[] value) {
        producer.send(
                new ProducerRecord<>(
                        "updates", LARGE.id().getBytes(StandardCharsets.UTF_8), value));
    }

    /** A producer with Kafka's defaults (max.request.size 1 MB), idempotent as workers are. */
    private static KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("enable.idempotence", "true");
        p.put("acks", "all");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** A read_committed consumer with default fetch sizes, reading one topic from its start. */
    private static final class Reader implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;

        Reader(String topic) {
            Properties p = new Properties();
            p.put("bootstrap.servers", kafka.bootstrapServers());
            p.put("isolation.level", "read_committed");
            consumer =
                    new KafkaConsumer<>(
                            p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> parts =
                    consumer.partitionsFor(topic).stream()
                            .map(i -> new TopicPartition(topic, i.partition()))
                            .toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
        }

        <T> void until(
                List<T> out,
                java.util.function.Function<byte[], List<T>> decode,
                Predicate<List<T>> done) {
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (!done.test(out)) {
                assertThat(System.nanoTime())
                        .as("waiting, have %s", out.size())
                        .isLessThan(deadline);
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    out.addAll(decode.apply(r.value()));
                }
            }
        }

        @Override
        public void close() {
            consumer.close();
        }
    }
}
