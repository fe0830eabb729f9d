package io.fedstream.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads every partition of one topic (read_committed, no consumer group, nothing committed), from
 * the beginning or from its end when opened, and tells when it has reached the end offsets it had
 * when opened: what the operator commands ({@code rejections}, {@code report}) and the job's
 * progress printer need.
 */
final class TopicReader implements AutoCloseable {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<TopicPartition, Long> endAtOpen;

    TopicReader(String bootstrap, Properties client, String topic, boolean fromEnd) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(16 << 20));
        p.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, Integer.toString(64 << 20));
        consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(15));
        if (infos == null || infos.isEmpty()) {
            consumer.close();
            throw new Errors.UserError(
                    "topic " + topic + " does not exist (./fedstream kafka creates it)");
        }
        List<TopicPartition> parts = new ArrayList<>();
        for (PartitionInfo i : infos) {
            parts.add(new TopicPartition(topic, i.partition()));
        }
        consumer.assign(parts);
        endAtOpen = consumer.endOffsets(parts, Duration.ofSeconds(15));
        if (fromEnd) {
            consumer.seekToEnd(parts);
        } else {
            consumer.seekToBeginning(parts);
        }
    }

    /** The next records, waiting up to {@code timeout}. */
    List<ConsumerRecord<byte[], byte[]>> poll(Duration timeout) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        consumer.poll(timeout).forEach(out::add);
        return out;
    }

    /** Whether every partition has been read up to where it ended when this reader was opened. */
    boolean caughtUp() {
        for (Map.Entry<TopicPartition, Long> e : endAtOpen.entrySet()) {
            if (consumer.position(e.getKey(), Duration.ofSeconds(15)) < e.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** Makes a blocked {@link #poll} return (from another thread). */
    /**
     * Until the JVM shuts down (Ctrl-C): true, then false, with {@code readers} woken from their
     * poll so that a {@code --follow} loop ends at once.
     */
    static BooleanSupplier runningUntilShutdown(TopicReader... readers) {
        AtomicBoolean running = new AtomicBoolean(true);
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    running.set(false);
                                    for (TopicReader r : readers) {
                                        r.wakeup();
                                    }
                                }));
        return running::get;
    }

    void wakeup() {
        consumer.wakeup();
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(2));
    }
}
