package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.Tensor;
import io.fedstream.testing.DeliveryCheck;
import io.fedstream.testing.MiniClusters;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Exactly once under faults. The same input (two federations, 42 updates and 3 hostile records,
 * trickled in while the job runs; federation a's updates as three chunks and a manifest each, b's
 * whole) goes through the job once without faults and then with a fault at different points: a
 * TaskManager crash, stop-with-savepoint and restore at another parallelism, and a broker bounce.
 * Every faulty run must publish the same versions, digest for digest, each once and in order, and
 * dead-letter each hostile record once.
 */
class ExactlyOnceIT {
    static final int QUORUM = 3;
    static final FederationSpec A =
            new FederationSpec(
                    "a",
                    11,
                    List.of(TensorSpec.normal("x", 0.1, 8, 16), TensorSpec.zeros("y", 16)),
                    50); // 144 parameters: chunks of 50, 50 and 44; A's updates arrive chunked
    static final FederationSpec B =
            new FederationSpec("b", 12, List.of(TensorSpec.uniform("w", 0.2, 64)));
    static final int VERSIONS = 1 + 30 / QUORUM + 1 + 12 / QUORUM; // with the two versions 0
    static final int HOSTILE = 3;

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(4);

    static EmbeddedKafka kafka;
    static List<String> reference;
    static final AtomicInteger RUN = new AtomicInteger();

    /** The MiniCluster keeps terminated TaskManagers in its list: the live one is the newest. */
    static int liveTaskManager = 0;

    /** Whether the last run's job failed at least once (and so recovered from a checkpoint). */
    static boolean lastRunFailed;

    @TempDir static Path savepoints;

    @BeforeAll
    static void startKafkaAndRunWithoutFaults() throws Exception {
        kafka = EmbeddedKafka.builder().start();
        reference = run(2, 0, job -> {}, null);
        assertThat(reference).hasSize(VERSIONS);
    }

    @AfterAll
    static void stopKafka() {
        kafka.close();
    }

    @ParameterizedTest(name = "TaskManager crash after {0} published versions")
    @ValueSource(ints = {1, 5, 11})
    void aTaskManagerCrashChangesNothing(int after, @InjectMiniCluster MiniCluster cluster)
            throws Exception {
        List<String> out =
                run(
                        2,
                        after,
                        job -> {
                            try {
                                cluster.terminateTaskManager(liveTaskManager).get();
                                cluster.startTaskManager();
                                liveTaskManager++;
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        },
                        cluster);

        assertThat(lastRunFailed).as("the crash failed the job, which recovered").isTrue();
        assertThat(out).containsExactlyElementsOf(reference);
    }

    @Test
    void twoCrashesInOneRunChangeNothing(@InjectMiniCluster MiniCluster cluster) throws Exception {
        Scenario s = new Scenario();
        JobClient job = s.start(2, null);
        for (int after : new int[] {3, 9}) {
            s.awaitVersions(after);
            cluster.terminateTaskManager(liveTaskManager).get();
            cluster.startTaskManager();
            liveTaskManager++;
        }
        List<String> out = s.finish(job, cluster);

        assertThat(lastRunFailed).isTrue();
        assertThat(out).containsExactlyElementsOf(reference);
    }

    @ParameterizedTest(name = "stop with savepoint after {0} versions, restore at parallelism {1}")
    @org.junit.jupiter.params.provider.CsvSource({"4, 1", "8, 3"})
    void restoringASavepointAtAnotherParallelismChangesNothing(int after, int parallelism)
            throws Exception {
        Scenario s = new Scenario();
        JobClient first = s.start(2, null);
        s.awaitVersions(after);
        String savepoint =
                first.stopWithSavepoint(
                                false, savepoints.toUri().toString(), SavepointFormatType.CANONICAL)
                        .get();
        JobClient second = s.start(parallelism, savepoint);
        List<String> out = s.finish(second, null);

        assertThat(out).containsExactlyElementsOf(reference);
    }

    @Test
    void aBrokerBounceChangesNothing(@InjectMiniCluster MiniCluster cluster) throws Exception {
        List<String> out = run(2, 6, job -> kafka.restartBroker(), cluster);

        System.out.println(
                "broker bounce: the job "
                        + (lastRunFailed ? "failed and recovered" : "rode it out"));
        assertThat(out).containsExactlyElementsOf(reference);
    }

    /**
     * Runs the job on fresh topics; after {@code faultAfter} versions (0: never) calls {@code
     * fault}.
     */
    static List<String> run(
            int parallelism, int faultAfter, Consumer<JobClient> fault, MiniCluster cluster)
            throws Exception {
        Scenario s = new Scenario();
        JobClient job = s.start(parallelism, null);
        if (faultAfter > 0) {
            s.awaitVersions(faultAfter);
            fault.accept(job);
        }
        List<String> out = s.finish(job, cluster);
        return out;
    }

    /** One run: its own topics, consumer group and transactional ids, and a producer thread. */
    static final class Scenario {
        final EmbeddedKafka kafka;
        final UnaryOperator<DataStream<RawRecord>> afterSource;
        final String prefix = "run" + RUN.incrementAndGet();
        final String updates = prefix + "-updates";
        final String global = prefix + "-global";
        final String rejected = prefix + "-rejected";
        final String ledger = prefix + "-ledger";
        Thread producer;

        /** The federations the job runs (a and b; a variant of a may have privacy). */
        List<FederationSpec> federations = List.of(A, B);

        /** Whether the job failed at least once (and so recovered from a checkpoint). */
        boolean failed;

        /** Job options on top of the scenario's own (e.g. an aggregation rule). */
        Map<String, String> settings = Map.of();

        /** Pause between the producer's updates: the input is spread over about 45 times this. */
        long pacingMs = 60;

        Scenario() {
            this(ExactlyOnceIT.kafka, UnaryOperator.identity());
        }

        /**
         * @param afterSource applied to the raw records before validation (a fault injector)
         */
        Scenario(EmbeddedKafka kafka, UnaryOperator<DataStream<RawRecord>> afterSource) {
            this.kafka = kafka;
            this.afterSource = afterSource;
            kafka.createTopic(updates, 2, Map.of());
            kafka.createTopic(global, 1, Map.of());
            kafka.createTopic(rejected, 1, Map.of());
            kafka.createTopic(ledger, 1, Map.of());
        }

        JobClient start(int parallelism, String savepoint) throws Exception {
            Configuration conf = new Configuration();
            conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            conf.set(FedStreamOptions.UPDATES_TOPIC, updates);
            conf.set(FedStreamOptions.GLOBAL_MODELS_TOPIC, global);
            conf.set(FedStreamOptions.REJECTED_TOPIC, rejected);
            conf.set(FedStreamOptions.PRIVACY_LEDGER_TOPIC, ledger);
            conf.set(FedStreamOptions.CONSUMER_GROUP, prefix);
            conf.set(FedStreamOptions.TRANSACTIONAL_ID_PREFIX, prefix);
            conf.set(FedStreamOptions.ROUND_QUORUM, QUORUM);
            conf.set(
                    FedStreamOptions.ROUND_TIMEOUT,
                    Duration.ofHours(1)); // membership by arrival order only
            conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(200));
            conf.set(FedStreamOptions.PARALLELISM, parallelism);
            conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 20);
            conf.set(
                    RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY,
                    Duration.ofMillis(300));
            conf.addAll(Configuration.fromMap(settings));
            if (savepoint != null) {
                conf.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
            }
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(conf);
            AggregationJob.configureEnvironment(env, conf);
            AggregationJob.build(
                    env, conf, federations, AggregationJob.Io.kafka(conf), afterSource);
            JobClient job = env.executeAsync(prefix);
            if (producer == null) {
                producer = new Thread(this::produce, prefix + "-producer");
                producer.start();
            }
            return job;
        }

        /** Trickles the input in, 60 ms apart, so faults land mid-stream. */
        private void produce() {
            try (KafkaProducer<byte[], byte[]> p =
                    new KafkaProducer<>(
                            kafka.clientProperties(),
                            new ByteArraySerializer(),
                            new ByteArraySerializer())) {
                int a = 0;
                int b = 0;
                for (int i = 0; i < 42 + HOSTILE; i++) {
                    List<byte[]> values = new ArrayList<>();
                    String key;
                    if (i % 15 == 7) {
                        key = "a";
                        values.add(("hostile " + i).getBytes(StandardCharsets.UTF_8));
                    } else if (i % 4 == 3 && b < 12) {
                        key = "b";
                        values.add(AvroCodec.ADAPTER_UPDATE.encode(update(B, b++)));
                    } else if (a < 30) {
                        key = "a";
                        UpdateChunking.Chunked c = UpdateChunking.split(update(A, a++), A.layout());
                        c.chunks().forEach(x -> values.add(AvroCodec.UPDATE_CHUNK.encode(x)));
                        values.add(AvroCodec.UPDATE_MANIFEST.encode(c.manifest()));
                    } else {
                        key = "b";
                        values.add(AvroCodec.ADAPTER_UPDATE.encode(update(B, b++)));
                    }
                    for (byte[] value : values) {
                        p.send(
                                        new ProducerRecord<>(
                                                updates,
                                                key.getBytes(StandardCharsets.UTF_8),
                                                value))
                                .get();
                    }
                    Thread.sleep(pacingMs);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        void awaitVersions(int n) {
            readVersions(kafka, global, n, Duration.ofMinutes(2));
        }

        /** Waits for every version and dead letter, checks nothing more comes, cancels the job. */
        List<String> finish(JobClient job, MiniCluster cluster) throws Exception {
            List<GlobalModel> versions =
                    readVersions(kafka, global, VERSIONS, Duration.ofMinutes(3));
            List<byte[]> dead = readUntil(kafka, rejected, HOSTILE, Duration.ofMinutes(1));
            producer.join();
            Thread.sleep(1500); // a duplicate would show up within a few checkpoints
            versions = readVersions(kafka, global, VERSIONS, Duration.ofSeconds(10));
            dead = readUntil(kafka, rejected, HOSTILE, Duration.ofSeconds(10));
            failed =
                    cluster != null
                            && cluster.getExecutionGraph(job.getJobID()).get().getFailureInfo()
                                    != null;
            lastRunFailed = failed;
            job.cancel().get();
            DeliveryCheck.Report check =
                    DeliveryCheck.read(kafka.clientProperties(), updates, global, rejected);
            assertThat(check.violations()).as("delivery check of %s (%s)", prefix, check).isEmpty();
            assertThat(check.updateRecords()).isEqualTo(42 + HOSTILE);
            assertThat(check.chunkRecords()).isEqualTo(30 * 3); // a's updates, 3 chunks each
            assertThat(dead).hasSize(HOSTILE);
            assertThat(
                            dead.stream()
                                    .map(d -> AvroCodec.REJECTED_UPDATE.decode(d).getSourceOffset())
                                    .distinct())
                    .hasSize(HOSTILE);
            List<GlobalModel> models = versions;
            for (String fed : List.of("a", "b")) {
                List<Long> chain =
                        models.stream()
                                .filter(g -> g.getFederationId().equals(fed))
                                .map(GlobalModel::getVersion)
                                .toList();
                assertThat(chain)
                        .as("versions of %s, each once and in order", fed)
                        .isEqualTo(
                                java.util.stream.LongStream.range(0, chain.size())
                                        .boxed()
                                        .toList());
            }
            return models.stream()
                    .sorted(
                            Comparator.comparing(GlobalModel::getFederationId)
                                    .thenComparing(GlobalModel::getVersion))
                    .map(
                            g ->
                                    g.getFederationId()
                                            + " v"
                                            + g.getVersion()
                                            + " "
                                            + g.getManifest().getTensorsSha256())
                    .toList();
        }
    }

    /** The {@code i}-th update of a federation: trained from one or zero versions back. */
    static AdapterUpdate update(FederationSpec spec, int i) {
        int round = i / QUORUM;
        long base = Math.max(0, round - (i % 2));
        SplittableRandom rnd = new SplittableRandom(spec.seed() * 1000 + i);
        List<Tensor> tensors = new ArrayList<>();
        for (TensorSpec t : spec.tensors()) {
            float[] v = new float[t.size()];
            for (int j = 0; j < v.length; j++) {
                v[j] = (float) (rnd.nextDouble() - 0.5) * 0.1f;
            }
            tensors.add(TensorCodec.float32(t.name(), t.shape(), v));
        }
        return AdapterUpdate.newBuilder()
                .setUpdateId(spec.id() + "-" + i)
                .setFederationId(spec.id())
                .setSiteId("site-" + (i % 5))
                .setBaseVersion(base)
                .setNumExamples(10 + i)
                .setTensors(tensors)
                .setCreatedAtMs(Instant.ofEpochMilli(1_700_000_000_000L + i))
                .build();
    }

    /**
     * Reads a global-models topic read_committed from the start until it holds {@code n} complete
     * versions (manifest and every chunk, verified by a {@link GlobalModelAssembler}) or time is
     * up. Returns every manifest record of a complete version in log order, so a version published
     * twice shows up twice.
     */
    static List<GlobalModel> readVersions(
            EmbeddedKafka kafka, String topic, int n, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<GlobalModel> manifests = new ArrayList<>();
            java.util.Set<String> complete = new java.util.HashSet<>();
            GlobalModelAssembler assembler = new GlobalModelAssembler();
            io.fedstream.schemas.kafka.TopicReader.readAll(
                    kafka.clientProperties(),
                    topic,
                    r -> {
                        if (AvroCodec.GLOBAL_MODEL.accepts(r.value())) {
                            manifests.add(AvroCodec.GLOBAL_MODEL.decode(r.value()));
                        }
                        assembler
                                .accept(r.value())
                                .forEach(
                                        g ->
                                                complete.add(
                                                        g.getFederationId()
                                                                + "/"
                                                                + g.getVersion()));
                    });
            assertThat(assembler.problems()).as("versions that do not verify").isEmpty();
            List<GlobalModel> out =
                    manifests.stream()
                            .filter(
                                    g ->
                                            complete.contains(
                                                    g.getFederationId() + "/" + g.getVersion()))
                            .toList();
            if (out.size() >= n || System.nanoTime() > deadline) {
                return out;
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return out;
            }
        }
    }

    /**
     * Reads a topic read_committed from the start until it holds {@code n} records or time is up.
     */
    static List<byte[]> readUntil(EmbeddedKafka kafka, String topic, int n, Duration timeout) {
        List<byte[]> out = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            out.clear();
            io.fedstream.schemas.kafka.TopicReader.readAll(
                    kafka.clientProperties(), topic, r -> out.add(r.value()));
            if (out.size() >= n || System.nanoTime() > deadline) {
                return new ArrayList<>(out);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return out;
            }
        }
    }
}
