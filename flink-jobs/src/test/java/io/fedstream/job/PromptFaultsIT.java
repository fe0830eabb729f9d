package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.prompt.TokenEmbeddings;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.FailingPassThrough.Fault;
import io.fedstream.job.FailingPassThrough.Plan;
import io.fedstream.job.FailingPassThrough.Point;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.job.prompt.PromptAggregationJob;
import io.fedstream.job.prompt.PromptOptions;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.GlobalPrompt;
import io.fedstream.schemas.avro.PromptContribution;
import io.fedstream.schemas.avro.PromptManifest;
import io.fedstream.schemas.avro.PromptToken;
import io.fedstream.schemas.avro.PromptUpdate;
import io.fedstream.schemas.avro.RejectReason;
import io.fedstream.schemas.avro.RejectedUpdate;
import io.fedstream.testing.MiniClusters;
import io.fedstream.testing.TestTopics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectMiniCluster;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CheckpointFaultsIT} for the FedDTPT prompt job: the same faults ({@link
 * FailingPassThrough}, inserted through {@link PromptAggregationJob}'s {@code afterSource} hook)
 * after a completed checkpoint, in a snapshot that stalls and fails, on a checkpoint-complete
 * notification, and several in one run. The input, trickled in: two prompt federations (imdb, 24
 * genuine updates; sst2, 12; quorum 3 and an hour's deadline, so rounds close on arrival order
 * alone, and each federation's records share a key and so a partition) and 7 hostile records, one
 * per reason the job dead-letters (validation's and the rounds'). Every faulty run must publish the
 * fault-free run's GlobalPrompts, the same versions in the same order with the same tokens,
 * manifests and contributions (everything but the round's wall-clock times), each genuine update in
 * exactly one version, and dead-letter each hostile record exactly once and nothing else.
 */
class PromptFaultsIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    static final int QUORUM = 3;
    static final int IMDB_UPDATES = 24;
    static final int SST2_UPDATES = 12;
    static final int VERSIONS = 1 + IMDB_UPDATES / QUORUM + 1 + SST2_UPDATES / QUORUM;
    static final AtomicInteger RUN = new AtomicInteger();

    @TempDir static Path dir;
    static EmbeddedKafka kafka;
    static Path tableFile;
    static Path federationsFile;
    static Outcome reference;

    @BeforeAll
    static void startKafkaAndRunWithoutFaults() throws Exception {
        TokenEmbeddings table = PromptAggregationJobIT.table();
        tableFile = dir.resolve("tokens.fste");
        table.write(tableFile);
        federationsFile = dir.resolve("prompt-federations.json");
        Files.writeString(
                federationsFile,
                "["
                        + new PromptFederation("imdb", List.of("classify", "the", "review"))
                                .toJson()
                        + ","
                        + new PromptFederation("sst2", List.of("label", "the", "sentiment"))
                                .toJson()
                        + "]");
        kafka = EmbeddedKafka.builder().start();
        Run clean = new Run(UnaryOperator.identity());
        reference = clean.finish(clean.start(), null);

        // the reference itself: both chains complete and in order, every genuine update counted
        // once, every hostile record dead-lettered once with its own reason
        assertThat(reference.versions()).hasSize(VERSIONS);
        assertThat(reference.contributions())
                .containsExactlyInAnyOrderElementsOf(Input.INSTANCE.genuineIds);
        assertThat(reference.deadLetters())
                .extracting(d -> d.split(" ")[0])
                .containsExactlyInAnyOrder(
                        RejectReason.NOT_AVRO.name(),
                        RejectReason.MALFORMED.name(),
                        RejectReason.KEY_MISMATCH.name(),
                        RejectReason.UNKNOWN_FEDERATION.name(),
                        RejectReason.VALUE_OUT_OF_BOUNDS.name(),
                        RejectReason.FUTURE_BASE_VERSION.name(),
                        RejectReason.DUPLICATE_UPDATE.name());
    }

    @AfterAll
    static void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void aFailureOnlyAfterACompletedCheckpointChangesNothing(@InjectMiniCluster MiniCluster cluster)
            throws Exception {
        runAndCompare(cluster, new Fault(Point.AFTER_COMPLETED_CHECKPOINT, 10));
    }

    @Test
    void aFailureWhileACheckpointIsInFlightChangesNothing(@InjectMiniCluster MiniCluster cluster)
            throws Exception {
        runAndCompare(cluster, new Fault(Point.DURING_SNAPSHOT, 20));
    }

    @Test
    void aFailureInTheFirstCheckpointRestartsFromTheTopicsAndChangesNothing(
            @InjectMiniCluster MiniCluster cluster) throws Exception {
        // no checkpoint completes before the failure: the job starts over without state, so the
        // rounds look the federations up on global-prompts (nothing committed yet: version 0
        // again) and the source reads from the beginning
        runAndCompare(cluster, new Fault(Point.DURING_SNAPSHOT, 0));
    }

    @Test
    void aFailureBetweenPreCommitAndCommitChangesNothing(@InjectMiniCluster MiniCluster cluster)
            throws Exception {
        runAndCompare(cluster, new Fault(Point.ON_CHECKPOINT_COMPLETE, 28));
    }

    @Test
    void repeatedFailuresOfEveryKindInOneRunChangeNothing(@InjectMiniCluster MiniCluster cluster)
            throws Exception {
        runAndCompare(
                cluster,
                new Fault(Point.AFTER_COMPLETED_CHECKPOINT, 5),
                new Fault(Point.DURING_SNAPSHOT, 14),
                new Fault(Point.AFTER_COMPLETED_CHECKPOINT, 24),
                new Fault(Point.ON_CHECKPOINT_COMPLETE, 36));
    }

    private static void runAndCompare(MiniCluster cluster, Fault... faults) throws Exception {
        Plan plan = new Plan(List.of(faults));
        Run run = new Run(FailingPassThrough.insert(UUID.randomUUID().toString(), plan));
        if (faults.length > 2) {
            // each recovery must still find input coming for the next after-checkpoint fault
            run.pacingMs = 100;
        }
        Outcome out = run.finish(run.start(), cluster);

        System.out.println(run.prefix + ": " + String.join("; ", plan.fired()));
        assertThat(plan.fired()).as("every planned fault fired").hasSize(faults.length);
        assertThat(run.failed).as("the job failed and recovered").isTrue();
        assertThat(out.versions()).containsExactlyElementsOf(reference.versions());
        assertThat(out.deadLetters()).containsExactlyElementsOf(reference.deadLetters());
    }

    /** What a run published: versions by federation, each in log order; dead letters sorted. */
    record Outcome(List<String> versions, List<String> contributions, List<String> deadLetters) {}

    /** The input of every run, the same records in the same order. */
    static final class Input {
        static final Input INSTANCE = new Input();

        /** Keys and values in sending order (each run sends them to its own topic). */
        final List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();

        /** Whether the record at the same index is hostile. */
        final List<Boolean> hostile = new ArrayList<>();

        /** "federation/update id" of every genuine update. */
        final List<String> genuineIds = new ArrayList<>();

        private Input() {
            List<PromptUpdate> imdb = new ArrayList<>();
            List<PromptUpdate> sst2 = new ArrayList<>();
            for (int i = 0; i < IMDB_UPDATES; i++) {
                imdb.add(genuine("imdb", i));
            }
            for (int i = 0; i < SST2_UPDATES; i++) {
                sst2.add(genuine("sst2", i));
            }
            int a = 0;
            int b = 0;
            for (int i = 0; i < IMDB_UPDATES + SST2_UPDATES; i++) {
                PromptUpdate u = i % 3 == 2 ? sst2.get(b++) : imdb.get(a++);
                add(u.getFederationId().toString(), AvroCodec.PROMPT_UPDATE.encode(u), false);
                genuineIds.add(u.getFederationId() + "/" + u.getUpdateId());
                switch (i) {
                    case 2 -> add("imdb", bytes("hostile: not avro"), true);
                    case 6 -> // a token outside the vocabulary
                            add(
                                    "imdb",
                                    AvroCodec.PROMPT_UPDATE.encode(
                                            update("imdb", "x-zebra", "s9", 0, "the", "zebra")),
                                    true);
                    case 9 -> // a replay of imdb-4 (sent at i = 6), still in its round's window
                            add("imdb", AvroCodec.PROMPT_UPDATE.encode(imdb.get(4)), true);
                    case 14 -> // imdb's update under sst2's key
                            add(
                                    "sst2",
                                    AvroCodec.PROMPT_UPDATE.encode(
                                            update("imdb", "x-key", "s9", 0, "the", "movie")),
                                    true);
                    case 19 -> // from a version no one has published
                            add(
                                    "sst2",
                                    AvroCodec.PROMPT_UPDATE.encode(
                                            update("sst2", "x-future", "s9", 99, "the", "film")),
                                    true);
                    case 25 ->
                            add(
                                    "nope",
                                    AvroCodec.PROMPT_UPDATE.encode(
                                            update("nope", "x-fed", "s9", 0, "the")),
                                    true);
                    case 31 -> {
                        PromptUpdate bad = update("sst2", "x-acc", "s9", 0, "the", "review");
                        bad.setAccuracy(1.5);
                        add("sst2", AvroCodec.PROMPT_UPDATE.encode(bad), true);
                    }
                    default -> {}
                }
            }
        }

        private void add(String key, byte[] value, boolean isHostile) {
            records.add(new ProducerRecord<>("", bytes(key), value));
            hostile.add(isHostile);
        }

        /**
         * A site's tuned prompt: a verb, "the", a noun, an aspect word from the table's synonym
         * groups, now and then a stray word; trained from one or zero versions back.
         */
        static PromptUpdate genuine(String federation, int i) {
            SplittableRandom rnd = new SplittableRandom(federation.hashCode() * 1000L + i);
            String[][] slots = {
                {"classify", "categorize", "label"},
                {"the"},
                {"movie", "film"},
                {"review", "critique", "sentiment", "feeling"}
            };
            List<String> words = new ArrayList<>();
            for (String[] slot : slots) {
                if (slot.length == 1 || rnd.nextInt(5) > 0) {
                    words.add(slot[rnd.nextInt(slot.length)]);
                }
            }
            if (rnd.nextInt(4) == 0) {
                words.add(rnd.nextBoolean() ? "banana" : "quickly");
            }
            long base = Math.max(0, i / QUORUM - (i % 2));
            PromptUpdate u =
                    update(
                            federation,
                            federation + "-" + i,
                            "site-" + (i % 5),
                            base,
                            words.toArray(String[]::new));
            u.setAccuracy(0.6 + 0.01 * i);
            return u;
        }

        static PromptUpdate update(
                String federation, String id, String site, long base, String... words) {
            List<PromptToken> tokens = new ArrayList<>();
            for (int i = 0; i < words.length; i++) {
                tokens.add(PromptToken.newBuilder().setToken(words[i]).setPosition(i).build());
            }
            return PromptUpdate.newBuilder()
                    .setUpdateId(id)
                    .setFederationId(federation)
                    .setSiteId(site)
                    .setBaseVersion(base)
                    .setTokens(tokens)
                    .setAccuracy(0.7)
                    .setApiCalls(480)
                    .setNumExamples(48)
                    .setCreatedAtMs(Instant.ofEpochMilli(1_700_000_000_000L))
                    .build();
        }

        private static byte[] bytes(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
    }

    /** One run of the prompt job over {@link Input} on its own topics. */
    static final class Run {
        final UnaryOperator<DataStream<RawRecord>> afterSource;
        final String prefix = "prompt-run" + RUN.incrementAndGet();
        final String updates = prefix + "-updates";
        final String global = prefix + "-global";
        final String rejected = prefix + "-rejected";

        /** Where the hostile records landed, "partition/offset". */
        final List<String> hostileAt = Collections.synchronizedList(new ArrayList<>());

        long pacingMs = 40;
        boolean failed;
        private Thread producer;

        Run(UnaryOperator<DataStream<RawRecord>> afterSource) {
            this.afterSource = afterSource;
            kafka.createTopic(updates, 2, Map.of());
            kafka.createTopic(global, 1, Map.of());
            kafka.createTopic(rejected, 1, Map.of());
        }

        JobClient start() throws Exception {
            Configuration conf = new Configuration();
            conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            conf.set(PromptOptions.UPDATES_TOPIC, updates);
            conf.set(PromptOptions.GLOBAL_PROMPTS_TOPIC, global);
            conf.set(PromptOptions.REJECTED_TOPIC, rejected);
            conf.set(PromptOptions.CONSUMER_GROUP, prefix);
            conf.set(PromptOptions.TRANSACTIONAL_ID_PREFIX, prefix);
            conf.set(PromptOptions.FEDERATIONS_FILE, federationsFile.toString());
            conf.set(PromptOptions.EMBEDDINGS_FILE, tableFile.toString());
            conf.set(FedStreamOptions.ROUND_QUORUM, QUORUM);
            conf.set(FedStreamOptions.ROUND_TIMEOUT, Duration.ofHours(1)); // arrival order only
            conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(200));
            conf.set(FedStreamOptions.PARALLELISM, 2);
            conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 20);
            conf.set(
                    RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY,
                    Duration.ofMillis(300));
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.getExecutionEnvironment(conf);
            AggregationJob.configureEnvironment(env, conf);
            PromptAggregationJob.build(
                    env,
                    conf,
                    PromptAggregationJob.federations(conf),
                    PromptAggregationJob.Io.kafka(conf),
                    afterSource);
            JobClient job = env.executeAsync(prefix);
            producer = new Thread(this::produce, prefix + "-producer");
            producer.start();
            return job;
        }

        /** Trickles the input in, {@link #pacingMs} apart, so faults land mid-stream. */
        private void produce() {
            try (KafkaProducer<byte[], byte[]> p = TestTopics.producer(kafka)) {
                List<ProducerRecord<byte[], byte[]>> in = Input.INSTANCE.records;
                for (int i = 0; i < in.size(); i++) {
                    RecordMetadata m =
                            p.send(
                                            new ProducerRecord<>(
                                                    updates, in.get(i).key(), in.get(i).value()))
                                    .get();
                    if (Input.INSTANCE.hostile.get(i)) {
                        hostileAt.add(m.partition() + "/" + m.offset());
                    }
                    Thread.sleep(pacingMs);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        /** Waits for every version and dead letter, checks nothing more comes, cancels the job. */
        Outcome finish(JobClient job, MiniCluster cluster) throws Exception {
            TestTopics.readUntil(kafka, global, v -> List.of(v), l -> l.size() >= VERSIONS);
            int hostile = (int) Input.INSTANCE.hostile.stream().filter(h -> h).count();
            TestTopics.readUntil(kafka, rejected, v -> List.of(v), l -> l.size() >= hostile);
            producer.join();
            Thread.sleep(1000); // a duplicate would show up within a few checkpoints
            failed =
                    cluster != null
                            && cluster.getExecutionGraph(job.getJobID()).get().getFailureInfo()
                                    != null;
            job.cancel().get();

            List<GlobalPrompt> versions =
                    readAll(global).stream().map(AvroCodec.GLOBAL_PROMPT::decode).toList();
            List<RejectedUpdate> dead =
                    readAll(rejected).stream().map(AvroCodec.REJECTED_UPDATE::decode).toList();
            for (String fed : List.of("imdb", "sst2")) {
                List<GlobalPrompt> chain =
                        versions.stream()
                                .filter(g -> g.getFederationId().toString().equals(fed))
                                .toList();
                assertThat(chain)
                        .as("versions of %s in %s, each once and in order", fed, prefix)
                        .extracting(GlobalPrompt::getVersion)
                        .containsExactlyElementsOf(
                                LongStream.range(0, chain.size()).boxed().toList());
                assertThat(chain)
                        .extracting(GlobalPrompt::getParentVersion)
                        .containsExactlyElementsOf(
                                LongStream.range(-1, chain.size() - 1).boxed().toList());
            }
            List<String> contributions =
                    versions.stream()
                            .flatMap(
                                    g ->
                                            g.getManifest().getContributions().stream()
                                                    .map(
                                                            c ->
                                                                    g.getFederationId()
                                                                            + "/"
                                                                            + c.getUpdateId()))
                            .toList();
            assertThat(contributions)
                    .as("every genuine update in exactly one version, nothing else")
                    .doesNotHaveDuplicates()
                    .containsExactlyInAnyOrderElementsOf(Input.INSTANCE.genuineIds);
            assertThat(dead)
                    .as("each hostile record dead-lettered once, nothing else")
                    .extracting(d -> d.getSourcePartition() + "/" + d.getSourceOffset())
                    .containsExactlyInAnyOrderElementsOf(hostileAt);
            return new Outcome(
                    // per federation in log order: the two federations' rounds close on
                    // different subtasks, so how their versions interleave on the topic varies
                    versions.stream()
                            .sorted(Comparator.comparing(g -> g.getFederationId().toString()))
                            .map(PromptFaultsIT::describe)
                            .toList(),
                    contributions,
                    dead.stream()
                            .map(
                                    d ->
                                            d.getReason()
                                                    + " "
                                                    + d.getSourcePartition()
                                                    + "/"
                                                    + d.getSourceOffset()
                                                    + " "
                                                    + d.getFederationId()
                                                    + " "
                                                    + d.getUpdateId())
                            .sorted()
                            .toList());
        }
    }

    /** A published prompt, everything but the round's wall-clock open and close times. */
    static String describe(GlobalPrompt g) {
        PromptManifest m = g.getManifest();
        Map<String, String> params = new TreeMap<>();
        m.getRuleParams().forEach((k, v) -> params.put(k.toString(), v.toString()));
        return g.getFederationId()
                + " v"
                + g.getVersion()
                + " parent "
                + g.getParentVersion()
                + " tokens "
                + g.getTokens().stream()
                        .map(t -> t.getPosition() + ":" + t.getToken())
                        .collect(Collectors.joining(" "))
                + " close "
                + m.getCloseReason()
                + " rule "
                + m.getRule()
                + " params "
                + params
                + " sources "
                + m.getSources()
                + " contributions "
                + m.getContributions().stream()
                        .map(PromptContribution::toString)
                        .collect(Collectors.joining(", "));
    }

    /** Every committed record of {@code topic}, in log order (one partition). */
    static List<byte[]> readAll(String topic) {
        Properties p = kafka.clientProperties();
        p.put("isolation.level", "read_committed");
        List<byte[]> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp); // the last stable offset
            while (c.position(tp) < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.offset() < end) {
                        out.add(r.value());
                    }
                }
            }
        }
        return out;
    }
}
