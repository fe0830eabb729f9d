package io.fedstream.testing;

import io.fedstream.embedded.EmbeddedKafka;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Writing to and reading from the embedded broker's topics in integration tests. To read a topic
 * once to its current end use {@link io.fedstream.schemas.kafka.TopicReader}; {@link #readUntil}
 * waits for records still to come.
 */
public final class TestTopics {
    private TestTopics() {}

    /** A producer of raw records with Kafka's defaults, as the broker's super user. */
    public static KafkaProducer<byte[], byte[]> producer(EmbeddedKafka kafka) {
        return producer(kafka.clientProperties());
    }

    /** A producer of raw records with {@code clientProperties} (e.g. a SCRAM user's). */
    public static KafkaProducer<byte[], byte[]> producer(Properties clientProperties) {
        return new KafkaProducer<>(
                clientProperties, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /**
     * Writes {@code user}'s client properties on a secured broker, without {@code
     * bootstrap.servers}, to {@code file}: what a job reads from {@code
     * fedstream.kafka.client-properties-file}.
     */
    public static Path clientPropertiesFile(
            EmbeddedKafka kafka, String user, String password, Path file) {
        Properties p = kafka.clientProperties(user, password);
        p.remove("bootstrap.servers");
        try (var out = Files.newBufferedWriter(file)) {
            p.store(out, user + "'s Kafka identity");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /**
     * Reads {@code topic} read_committed from its beginning, turning each value into the records it
     * makes, until {@code done} holds of all read so far; fails after two minutes.
     */
    public static <T> List<T> readUntil(
            EmbeddedKafka kafka,
            String topic,
            Function<byte[], List<T>> decode,
            Predicate<List<T>> done) {
        return readRecordsUntil(kafka, topic, r -> decode.apply(r.value()), done);
    }

    /**
     * {@link #readUntil} with the whole consumer record (key, partition, offset) given to {@code
     * decode}.
     */
    public static <T> List<T> readRecordsUntil(
            EmbeddedKafka kafka,
            String topic,
            Function<ConsumerRecord<byte[], byte[]>, List<T>> decode,
            Predicate<List<T>> done) {
        Properties p = kafka.clientProperties();
        p.put("isolation.level", "read_committed");
        List<T> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts =
                    c.partitionsFor(topic).stream()
                            .map(i -> new TopicPartition(topic, i.partition()))
                            .toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (!done.test(out)) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(
                            "Timed out waiting for records on " + topic + ", have " + out);
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    out.addAll(decode.apply(r));
                }
            }
        }
        return out;
    }
}
