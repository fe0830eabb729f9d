package io.fedstream.job;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.avro.GlobalModel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the global-models topic (read_committed) from the beginning to its current end and returns
 * the newest complete version of a federation, reassembled from its chunks and verified ({@link
 * GlobalModelAssembler}). Only called when a federation has no state in the job, i.e. once per
 * federation on a fresh start.
 */
public final class KafkaLatestVersionLookup implements LatestVersionLookup {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(KafkaLatestVersionLookup.class);

    private final Properties consumerProperties;
    private final String topic;

    public KafkaLatestVersionLookup(Properties consumerProperties, String topic) {
        this.consumerProperties = new Properties();
        this.consumerProperties.putAll(consumerProperties);
        this.topic = topic;
    }

    @Override
    public Optional<GlobalModel> latest(String federationId) {
        Properties p = new Properties();
        p.putAll(consumerProperties);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        byte[] wantedKey = federationId.getBytes(StandardCharsets.UTF_8);
        GlobalModel newest = null;
        GlobalModelAssembler assembler = new GlobalModelAssembler();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions =
                    consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                            .map(i -> new TopicPartition(topic, i.partition()))
                            .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = new HashMap<>(consumer.endOffsets(partitions));
            while (!end.isEmpty()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (r.key() != null && java.util.Arrays.equals(r.key(), wantedKey)) {
                        try {
                            for (GlobalModel g : assembler.accept(r.value())) {
                                if (newest == null || g.getVersion() > newest.getVersion()) {
                                    newest = g;
                                    assembler.forgetBelow(federationId, g.getVersion());
                                }
                            }
                        } catch (AvroCodec.DecodeException e) {
                            LOG.warn(
                                    "skipping undecodable record at {}-{}@{}: {}",
                                    r.topic(),
                                    r.partition(),
                                    r.offset(),
                                    e.getMessage());
                        }
                    }
                }
                end.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
            }
        }
        assembler.problems().forEach(why -> LOG.warn("ignoring a published version: {}", why));
        if (newest != null) {
            LOG.info(
                    "federation {} continues from published version {}",
                    federationId,
                    newest.getVersion());
        }
        return Optional.ofNullable(newest);
    }
}
