package io.fedstream.worker.prompt;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.GlobalPrompt;
import io.fedstream.schemas.avro.PromptToken;
import io.fedstream.schemas.avro.PromptUpdate;
import io.fedstream.worker.ByteClients;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * FedDTPT's site loop, the worker's second training mode: follow the federation's global prompts on
 * {@code global-prompts} (read_committed), tune from the newest through the black-box model ({@link
 * PromptTuner}), publish the tuned prompt as a {@link PromptUpdate} on {@code prompt-updates}
 * (idempotent producer, key = federation id, update id {@code <site>/v<base>}), and wait for the
 * next version. Prompts are a few hundred bytes, so the worker simply reads the topic from the
 * beginning. Words of a global prompt that are not in the site's word space are dropped before
 * tuning (logged).
 */
public final class PromptWorker {
    private static final Logger LOG = LoggerFactory.getLogger(PromptWorker.class);

    /**
     * @param bootstrap Kafka bootstrap servers
     * @param federationId the federation followed
     * @param siteId this site
     * @param globalPromptsTopic where the job publishes {@link GlobalPrompt}s
     * @param updatesTopic where this worker publishes {@link PromptUpdate}s
     * @param tuner the optimiser's settings (API budget per update included)
     * @param kafka extra Kafka client properties (security), may be empty
     */
    public record Config(
            String bootstrap,
            String federationId,
            String siteId,
            String globalPromptsTopic,
            String updatesTopic,
            PromptTuner.Config tuner,
            Properties kafka) {}

    private final Config config;
    private final BlackBoxModel model;
    private final TokenSpace space;
    private final IntFunction<List<PromptTuner.Example>> scoring;

    /**
     * @param scoring the scoring set (local batch + public set) for the n-th update, n = 0, 1, ...
     */
    public PromptWorker(
            Config config,
            BlackBoxModel model,
            TokenSpace space,
            IntFunction<List<PromptTuner.Example>> scoring) {
        this.config = config;
        this.model = model;
        this.space = space;
        this.scoring = scoring;
    }

    /**
     * Publishes one update per new global version until {@code updates} are published or {@code
     * timeout} passes.
     *
     * @return the updates published
     */
    public List<PromptUpdate> run(int updates, Duration timeout)
            throws InterruptedException, ExecutionException {
        AvroCodec.trustGeneratedClasses();
        List<PromptUpdate> published = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = ByteClients.consumer(consumerProps());
                KafkaProducer<byte[], byte[]> producer = ByteClients.producer(producerProps())) {
            List<TopicPartition> parts =
                    consumer
                            .partitionsFor(config.globalPromptsTopic(), Duration.ofSeconds(60))
                            .stream()
                            .map(p -> new TopicPartition(p.topic(), p.partition()))
                            .toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            GlobalPrompt newest = null;
            long trainedFrom = -1;
            while (published.size() < updates && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    GlobalPrompt g;
                    try {
                        g = AvroCodec.GLOBAL_PROMPT.decode(r.value());
                    } catch (AvroCodec.DecodeException e) {
                        LOG.warn(
                                "site {}: skipping undecodable global prompt at {}",
                                config.siteId(),
                                r.offset());
                        continue;
                    }
                    if (g.getFederationId().equals(config.federationId())
                            && (newest == null || g.getVersion() > newest.getVersion())) {
                        newest = g;
                    }
                }
                if (newest == null || newest.getVersion() <= trainedFrom) {
                    continue;
                }
                PromptUpdate u = tune(newest, published.size());
                producer.send(
                                new ProducerRecord<>(
                                        config.updatesTopic(),
                                        config.federationId().getBytes(StandardCharsets.UTF_8),
                                        AvroCodec.PROMPT_UPDATE.encode(u)))
                        .get();
                trainedFrom = newest.getVersion();
                published.add(u);
                LOG.info(
                        "site {}: prompt from version {}: accuracy {} -> {} in {} calls",
                        config.siteId(),
                        u.getBaseVersion(),
                        u.getBaseAccuracy(),
                        u.getAccuracy(),
                        u.getApiCalls());
            }
        }
        return published;
    }

    private PromptUpdate tune(GlobalPrompt global, int n) {
        List<String> start = new ArrayList<>();
        for (PromptToken t : global.getTokens()) {
            if (space.contains(t.getToken())) {
                start.add(t.getToken());
            } else {
                LOG.warn(
                        "site {}: dropping '{}', not in the word space",
                        config.siteId(),
                        t.getToken());
            }
        }
        if (start.isEmpty()) {
            throw new IllegalStateException(
                    "global prompt version "
                            + global.getVersion()
                            + " has no word this site knows");
        }
        List<PromptTuner.Example> examples = scoring.apply(n);
        PromptTuner.Result r = new PromptTuner(model, space, config.tuner()).tune(start, examples);
        List<PromptToken> tokens = new ArrayList<>();
        for (int i = 0; i < r.tokens().size(); i++) {
            tokens.add(PromptToken.newBuilder().setToken(r.tokens().get(i)).setPosition(i).build());
        }
        return PromptUpdate.newBuilder()
                .setUpdateId(config.siteId() + "/v" + global.getVersion())
                .setFederationId(config.federationId())
                .setSiteId(config.siteId())
                .setBaseVersion(global.getVersion())
                .setTokens(tokens)
                .setAccuracy(r.accuracy())
                .setBaseAccuracy(r.baseAccuracy())
                .setApiCalls(r.apiCalls())
                .setNumExamples(examples.size())
                .setCreatedAtMs(Instant.now())
                .build();
    }

    private Properties consumerProps() {
        Properties p = new Properties();
        p.putAll(config.kafka());
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrap());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        return p;
    }

    private Properties producerProps() {
        Properties p = new Properties();
        p.putAll(config.kafka());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrap());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        return p;
    }
}
