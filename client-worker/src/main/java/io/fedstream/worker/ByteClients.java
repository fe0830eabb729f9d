package io.fedstream.worker;

import java.util.Properties;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Kafka clients of the site's loops: keys and values stay bytes, which the loops decode with
 * {@code AvroCodec} themselves (so a record no codec accepts is skipped, never a poll failure).
 */
public final class ByteClients {
    private ByteClients() {}

    /** A consumer of byte keys and values with {@code properties}. */
    public static KafkaConsumer<byte[], byte[]> consumer(Properties properties) {
        return new KafkaConsumer<>(
                properties, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** A producer of byte keys and values with {@code properties}. */
    public static KafkaProducer<byte[], byte[]> producer(Properties properties) {
        return new KafkaProducer<>(
                properties, new ByteArraySerializer(), new ByteArraySerializer());
    }
}
