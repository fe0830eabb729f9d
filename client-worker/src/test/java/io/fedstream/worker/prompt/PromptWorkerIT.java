package io.fedstream.worker.prompt;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.GlobalPrompt;
import io.fedstream.schemas.avro.PromptCloseReason;
import io.fedstream.schemas.avro.PromptManifest;
import io.fedstream.schemas.avro.PromptToken;
import io.fedstream.schemas.avro.PromptUpdate;
import io.fedstream.testing.TestTopics;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.bert.OnnxWeights;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The prompt worker against a real broker with the real local black box (zero-shot MiniLM): it
 * follows global-prompts and publishes a tuned PromptUpdate per new version.
 */
class PromptWorkerIT {

    private static final List<PromptTuner.Example> EXAMPLES =
            List.of(
                    new PromptTuner.Example("A wonderful film, I loved every minute.", "positive"),
                    new PromptTuner.Example("Dull and far too long, I was bored.", "negative"),
                    new PromptTuner.Example("Brilliant acting and a moving story.", "positive"),
                    new PromptTuner.Example("Terrible acting and a silly plot.", "negative"),
                    new PromptTuner.Example("Highly recommended, a real gem.", "positive"),
                    new PromptTuner.Example("Avoid it, a waste of money.", "negative"));

    private static GlobalPrompt global(long version, String... words) {
        List<PromptToken> tokens = new ArrayList<>();
        for (int i = 0; i < words.length; i++) {
            tokens.add(PromptToken.newBuilder().setToken(words[i]).setPosition(i).build());
        }
        return GlobalPrompt.newBuilder()
                .setFederationId("imdb")
                .setVersion(version)
                .setParentVersion(version - 1)
                .setTokens(tokens)
                .setManifest(
                        PromptManifest.newBuilder()
                                .setCloseReason(
                                        version == 0
                                                ? PromptCloseReason.GENESIS
                                                : PromptCloseReason.QUORUM)
                                .setRule("test")
                                .setContributions(List.of())
                                .setRoundOpenedAtMs(Instant.ofEpochMilli(0))
                                .setRoundClosedAtMs(Instant.ofEpochMilli(0))
                                .build())
                .build();
    }

    @Test
    void tunesFromTheNewestGlobalPromptAndPublishesItsUpdate() throws Exception {
        OnnxWeights onnx = MiniLm.onnx();
        TokenSpace space = TokenSpace.miniLm(onnx);
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start();
                DjlSentenceEncoder encoder = DjlSentenceEncoder.miniLm(onnx, 32)) {
            kafka.createTopic(Topics.GLOBAL_PROMPTS, 1, Map.of());
            kafka.createTopic(Topics.PROMPT_UPDATES, 1, Map.of());
            EncoderClassifier model =
                    new EncoderClassifier(encoder, List.of("negative", "positive"));
            PromptWorker.Config config =
                    new PromptWorker.Config(
                            kafka.bootstrapServers(),
                            "imdb",
                            "site-7",
                            Topics.GLOBAL_PROMPTS,
                            Topics.PROMPT_UPDATES,
                            new PromptTuner.Config(6 * 12, 8, 1, 6, 3),
                            new Properties());
            publish(kafka, global(0, "banana", "telephone"));
            publish(kafka, global(1, "the", "movie", "xyzzyq")); // the last word is unknown

            List<PromptUpdate> sent =
                    new PromptWorker(config, model, space, n -> EXAMPLES)
                            .run(1, Duration.ofMinutes(2));
            List<PromptUpdate> onTopic = read(kafka, 1);

            assertThat(sent).hasSize(1);
            PromptUpdate u = sent.get(0);
            assertThat(onTopic).containsExactly(u);
            assertThat(u.getUpdateId()).isEqualTo("site-7/v1");
            assertThat(u.getBaseVersion()).isEqualTo(1);
            assertThat(u.getApiCalls()).isPositive().isLessThanOrEqualTo(72);
            assertThat(u.getNumExamples()).isEqualTo(6);
            assertThat(u.getAccuracy()).isGreaterThanOrEqualTo(u.getBaseAccuracy());
            assertThat(u.getTokens()).extracting(PromptToken::getToken).allMatch(space::contains);
            assertThat(u.getTokens()).extracting(PromptToken::getPosition).isSorted();
        }
    }

    private static void publish(EmbeddedKafka kafka, GlobalPrompt g) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.send(
                            new ProducerRecord<>(
                                    Topics.GLOBAL_PROMPTS,
                                    "imdb".getBytes(StandardCharsets.UTF_8),
                                    AvroCodec.GLOBAL_PROMPT.encode(g)))
                    .get();
        }
    }

    private static List<PromptUpdate> read(EmbeddedKafka kafka, int n) {
        return TestTopics.readRecordsUntil(
                kafka,
                Topics.PROMPT_UPDATES,
                r -> {
                    assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("imdb");
                    return List.of(AvroCodec.PROMPT_UPDATE.decode(r.value()));
                },
                u -> u.size() >= n);
    }
}
