package io.fedstream.job;

import io.fedstream.schemas.AvroCodec;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Base of the jobs' version lookups ({@link io.fedstream.job.adapter.KafkaLatestVersionLookup},
 * {@link io.fedstream.job.prompt.KafkaPromptVersionLookup}): finds the newest record a federation
 * has on a topic by reading the topic (read_committed, without a consumer group) from the beginning
 * to its end as of the call.
 */
public abstract class KafkaNewestRecordLookup implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Turns a record's value into the complete records it makes (none, one or several). */
    @FunctionalInterface
    protected interface Decoder<T> {
        /**
         * @throws AvroCodec.DecodeException for a value that is not a record of the topic: it is
         *     logged and skipped
         */
        Iterable<T> decode(byte[] value);
    }

    private final Properties consumerProperties;
    private final String topic;

    protected KafkaNewestRecordLookup(Properties consumerProperties, String topic) {
        this.consumerProperties = new Properties();
        this.consumerProperties.putAll(consumerProperties);
        this.topic = topic;
    }

    /**
     * The record keyed {@code federationId} with the highest {@code version}, of those {@code
     * decoder} makes from the topic's values in the order read; {@code onNewer} sees each record
     * that is newer than all before it, as it is found.
     */
    protected final <T> Optional<T> newest(
            String federationId,
            Decoder<T> decoder,
            ToLongFunction<T> version,
            Consumer<T> onNewer) {
        Logger log = LoggerFactory.getLogger(getClass());
        Properties p = new Properties();
        p.putAll(consumerProperties);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.remove(ConsumerConfig.GROUP_ID_CONFIG);
        byte[] wantedKey = federationId.getBytes(StandardCharsets.UTF_8);
        T newest = null;
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
                    if (r.key() != null && Arrays.equals(r.key(), wantedKey)) {
                        try {
                            for (T g : decoder.decode(r.value())) {
                                if (newest == null
                                        || version.applyAsLong(g) > version.applyAsLong(newest)) {
                                    newest = g;
                                    onNewer.accept(g);
                                }
                            }
                        } catch (AvroCodec.DecodeException e) {
                            log.warn(
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
        return Optional.ofNullable(newest);
    }
}
