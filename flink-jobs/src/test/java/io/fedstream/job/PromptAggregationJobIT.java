package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.aggregation.prompt.PromptMerge;
import io.fedstream.aggregation.prompt.TokenEmbeddings;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.job.prompt.PromptAggregationJob;
import io.fedstream.job.prompt.PromptOptions;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.GlobalPrompt;
import io.fedstream.schemas.avro.PromptCloseReason;
import io.fedstream.schemas.avro.PromptContribution;
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
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.Predicate;
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
import org.junit.jupiter.api.io.TempDir;

/** FedDTPT prompt rounds end to end: a real broker and a Flink MiniCluster at parallelism 2. */
class PromptAggregationJobIT {

    @RegisterExtension static final MiniClusterExtension FLINK = MiniClusters.withSlots(2);

    static EmbeddedKafka kafka;

    @TempDir static Path dir;

    /** 16-dimensional random vectors; synonyms are a base word's vector plus a little noise. */
    static TokenEmbeddings table() {
        SplittableRandom rnd = new SplittableRandom(11);
        List<String> words = new ArrayList<>();
        List<float[]> vectors = new ArrayList<>();
        String[][] groups = {
            {"classify", "categorize", "label"},
            {"movie", "film"},
            {"review", "critique"},
            {"sentiment", "feeling"},
            {"the"},
            {"banana"},
            {"quickly"}
        };
        for (String[] g : groups) {
            float[] base = new float[16];
            for (int d = 0; d < base.length; d++) {
                base[d] = (float) rnd.nextGaussian();
            }
            for (String w : g) {
                float[] v = base.clone();
                for (int d = 0; d < v.length; d++) {
                    v[d] += (float) (0.05 * rnd.nextGaussian());
                }
                words.add(w);
                vectors.add(v);
            }
        }
        return new TokenEmbeddings(words, vectors.toArray(float[][]::new));
    }

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.builder().start();
        kafka.createTopic(Topics.PROMPT_UPDATES, 2, Map.of());
        kafka.createTopic(Topics.GLOBAL_PROMPTS, 1, Map.of());
        kafka.createTopic(Topics.REJECTED_UPDATES, 1, Map.of());
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    private static PromptUpdate update(
            String id, String site, long base, double acc, String... words) {
        List<PromptToken> tokens = new ArrayList<>();
        for (int i = 0; i < words.length; i++) {
            tokens.add(PromptToken.newBuilder().setToken(words[i]).setPosition(i).build());
        }
        return PromptUpdate.newBuilder()
                .setUpdateId(id)
                .setFederationId("imdb")
                .setSiteId(site)
                .setBaseVersion(base)
                .setTokens(tokens)
                .setAccuracy(acc)
                .setApiCalls(480)
                .setNumExamples(48)
                .setCreatedAtMs(Instant.now())
                .build();
    }

    @Test
    void mergesARoundOfPromptsExactlyOnceAndDeadLettersBadOnes() throws Exception {
        // arrange
        TokenEmbeddings table = table();
        Path tableFile = dir.resolve("tokens.fste");
        table.write(tableFile);
        Path federations = dir.resolve("prompt-federations.json");
        PromptFederation imdb = new PromptFederation("imdb", List.of("classify", "the", "review"));
        Files.writeString(federations, "[" + imdb.toJson() + "]");

        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(FedStreamOptions.ROUND_QUORUM, 3);
        conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500));
        conf.set(FedStreamOptions.PARALLELISM, 2);
        conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(5));
        conf.set(PromptOptions.FEDERATIONS_FILE, federations.toString());
        conf.set(PromptOptions.EMBEDDINGS_FILE, tableFile.toString());
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");

        List<PromptUpdate> round1 =
                List.of(
                        update("s3/v0", "s3", 0, 0.70, "label", "the", "film", "banana"),
                        update("s1/v0", "s1", 0, 0.75, "classify", "the", "movie", "sentiment"),
                        update("s2/v0", "s2", 0, 0.80, "categorize", "the", "film", "feeling"));
        List<PromptUpdate> round2 =
                List.of(
                        update("s1/v1", "s1", 1, 0.81, "classify", "movie", "sentiment"),
                        update("s2/v1", "s2", 1, 0.82, "classify", "film", "review", "sentiment"),
                        update("s3/v0b", "s3", 0, 0.72, "label", "movie", "feeling", "quickly"));

        // act
        JobClient job = start(conf, "prompt-aggregation-it");
        try (KafkaProducer<byte[], byte[]> producer = TestTopics.producer(kafka)) {
            producer.send(record("imdb", "not avro at all".getBytes(StandardCharsets.UTF_8)));
            producer.send(
                    record(
                            "imdb",
                            AvroCodec.PROMPT_UPDATE.encode(
                                    update("x1", "s9", 0, 0.5, "classify", "zebra"))));
            producer.send(
                    record(
                            "other",
                            AvroCodec.PROMPT_UPDATE.encode(update("x2", "s9", 0, 0.5, "the"))));
            producer.send(
                    record(
                            "imdb",
                            AvroCodec.PROMPT_UPDATE.encode(update("x3", "s9", 0, 1.5, "the"))));
            for (PromptUpdate u : round1) {
                producer.send(record("imdb", AvroCodec.PROMPT_UPDATE.encode(u)));
            }
            producer.flush();
            readUntil(Topics.GLOBAL_PROMPTS, AvroCodec.GLOBAL_PROMPT::decode, l -> l.size() >= 2);
            producer.send(record("imdb", AvroCodec.PROMPT_UPDATE.encode(round1.get(0)))); // replay
            for (PromptUpdate u : round2) {
                producer.send(record("imdb", AvroCodec.PROMPT_UPDATE.encode(u)));
            }
            producer.flush();
        }
        List<GlobalPrompt> versions =
                readUntil(
                        Topics.GLOBAL_PROMPTS, AvroCodec.GLOBAL_PROMPT::decode, l -> l.size() >= 3);
        List<RejectedUpdate> rejected =
                readUntil(
                        Topics.REJECTED_UPDATES,
                        AvroCodec.REJECTED_UPDATE::decode,
                        l -> l.size() >= 5);
        job.cancel().get();

        // assert
        assertThat(versions).extracting(GlobalPrompt::getVersion).containsExactly(0L, 1L, 2L);
        assertThat(words(versions.get(0))).containsExactly("classify", "the", "review");
        assertThat(versions.get(0).getManifest().getCloseReason())
                .isEqualTo(PromptCloseReason.GENESIS);
        for (int v = 1; v <= 2; v++) {
            GlobalPrompt g = versions.get(v);
            List<PromptUpdate> sent = v == 1 ? round1 : round2;
            assertThat(g.getParentVersion()).isEqualTo(v - 1);
            assertThat(g.getManifest().getCloseReason()).isEqualTo(PromptCloseReason.QUORUM);
            assertThat(g.getManifest().getContributions())
                    .extracting(PromptContribution::getUpdateId)
                    .isSorted()
                    .containsExactlyInAnyOrderElementsOf(
                            sent.stream().map(PromptUpdate::getUpdateId).toList());
            // the job's prompt is the merge of the manifest's prompts, recomputed here
            List<PromptMerge.ClientPrompt> prompts = new ArrayList<>();
            for (PromptContribution c : g.getManifest().getContributions()) {
                PromptUpdate u =
                        sent.stream()
                                .filter(s -> s.getUpdateId().equals(c.getUpdateId()))
                                .findFirst()
                                .orElseThrow();
                prompts.add(
                        new PromptMerge.ClientPrompt(
                                u.getSiteId(),
                                u.getTokens().stream().map(PromptToken::getToken).toList()));
            }
            assertThat(words(g))
                    .isEqualTo(
                            PromptMerge.merge(prompts, table::vector, PromptMerge.Config.dbscan())
                                    .words());
            assertThat(g.getManifest().getSources()).hasSameSizeAs(g.getTokens());
        }
        // consensus: {classify, categorize, label}, {the x3}, {movie, film x2} and {sentiment,
        // feeling} cluster, one token each in position order; the lone banana is noise
        assertThat(words(versions.get(1))).hasSize(4).doesNotContain("banana");
        assertThat(words(versions.get(1)).get(1)).isEqualTo("the");
        PromptContribution stale =
                versions.get(2).getManifest().getContributions().stream()
                        .filter(c -> c.getUpdateId().equals("s3/v0b"))
                        .findFirst()
                        .orElseThrow();
        assertThat(stale.getStaleness()).isEqualTo(1);
        assertThat(rejected)
                .extracting(RejectedUpdate::getReason)
                .containsExactlyInAnyOrder(
                        RejectReason.NOT_AVRO,
                        RejectReason.MALFORMED,
                        RejectReason.KEY_MISMATCH,
                        RejectReason.VALUE_OUT_OF_BOUNDS,
                        RejectReason.DUPLICATE_UPDATE);
        assertThat(rejected)
                .filteredOn(r -> r.getReason() == RejectReason.MALFORMED)
                .extracting(RejectedUpdate::getDetail)
                .singleElement()
                .asString()
                .contains("zebra");

        // a job started again without state continues from the published version 2
        JobClient restarted = start(conf, "prompt-aggregation-it-restarted");
        try (KafkaProducer<byte[], byte[]> producer = TestTopics.producer(kafka)) {
            for (String site : List.of("s1", "s2", "s3")) {
                producer.send(
                        record(
                                "imdb",
                                AvroCodec.PROMPT_UPDATE.encode(
                                        update(site + "/v2", site, 2, 0.8, "classify", "movie"))));
            }
            producer.flush();
        }
        List<GlobalPrompt> after =
                readUntil(
                        Topics.GLOBAL_PROMPTS,
                        AvroCodec.GLOBAL_PROMPT::decode,
                        l -> l.stream().anyMatch(g -> g.getVersion() == 3));
        restarted.cancel().get();

        assertThat(after).extracting(GlobalPrompt::getVersion).containsExactly(0L, 1L, 2L, 3L);
        assertThat(after.get(3).getParentVersion()).isEqualTo(2);
        assertThat(words(after.get(3))).containsExactly("classify", "movie");
    }

    /** Builds the prompt job on Kafka as {@code conf} says and starts it. */
    private static JobClient start(Configuration conf, String name) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        AggregationJob.configureEnvironment(env, conf);
        PromptAggregationJob.build(
                env,
                conf,
                PromptAggregationJob.federations(conf),
                PromptAggregationJob.Io.kafka(conf));
        return env.executeAsync(name);
    }

    private static List<String> words(GlobalPrompt g) {
        return g.getTokens().stream().map(PromptToken::getToken).toList();
    }

    private static ProducerRecord<byte[], byte[]> record(String key, byte[] value) {
        return new ProducerRecord<>(
                Topics.PROMPT_UPDATES, key.getBytes(StandardCharsets.UTF_8), value);
    }

    private static <T> List<T> readUntil(
            String topic, Function<byte[], T> decode, Predicate<List<T>> done) {
        return TestTopics.readUntil(kafka, topic, v -> List.of(decode.apply(v)), done);
    }
}
