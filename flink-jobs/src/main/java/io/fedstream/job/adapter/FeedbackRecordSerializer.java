package io.fedstream.job.adapter;

import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes each feedback record to its own topic (the site's), keyed by its UTF-8 key. */
public class FeedbackRecordSerializer implements KafkaRecordSerializationSchema<FeedbackRecord> {
    private static final long serialVersionUID = 1L;

    @Override
    public ProducerRecord<byte[], byte[]> serialize(
            FeedbackRecord element, KafkaSinkContext context, Long timestamp) {
        byte[] key = element.key == null ? null : element.key.getBytes(StandardCharsets.UTF_8);
        return new ProducerRecord<>(element.topic, null, timestamp, key, element.value);
    }
}
