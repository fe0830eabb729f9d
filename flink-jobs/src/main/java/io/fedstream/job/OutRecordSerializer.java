package io.fedstream.job;

import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes already-encoded records to one topic, keyed by their UTF-8 key. */
public class OutRecordSerializer implements KafkaRecordSerializationSchema<OutRecord> {
    private static final long serialVersionUID = 1L;
    private final String topic;

    public OutRecordSerializer(String topic) {
        this.topic = topic;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            OutRecord element, KafkaSinkContext context, Long timestamp) {
        byte[] key = element.key == null ? null : element.key.getBytes(StandardCharsets.UTF_8);
        return new ProducerRecord<>(topic, null, timestamp, key, element.value);
    }
}
