package io.fedstream.lab.bench;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.AdapterUpdate;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One Kafka record per update, as workers publish today: the Avro single-object encoding, keyed by
 * the federation id, producer settings of the worker (idempotent, acks=all, no compression) with
 * the record size raised to {@code maxRecordBytes}.
 *
 * <p>Unlike a worker, which leaves the partition to the key (one partition per federation), the
 * records go to the topic's partitions in turn, so that a job with parallelism 2 has two source
 * splits to read; the key is still the federation id, as the job checks.
 */
final class SingleRecordPublisher implements UpdatePublisher {
    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final int partitions;
    private final AtomicLong next = new AtomicLong();
    private final AtomicLong encodeNanos = new AtomicLong();

    SingleRecordPublisher(Properties client, String topic, int partitions, int maxRecordBytes) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxRecordBytes);
        // room for a few records in flight; send() blocks when it is full
        p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, (long) maxRecordBytes);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-sites-" + topic);
        this.producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        this.topic = topic;
        this.partitions = partitions;
    }

    @Override
    public CompletableFuture<Published> publish(AdapterUpdate update) {
        long t = System.nanoTime();
        byte[] value = AvroCodec.ADAPTER_UPDATE.encode(update);
        encodeNanos.addAndGet(System.nanoTime() - t);
        byte[] key = update.getFederationId().getBytes(StandardCharsets.UTF_8);
        int partition = (int) (next.getAndIncrement() % partitions);
        String id = update.getUpdateId();
        CompletableFuture<Published> done = new CompletableFuture<>();
        producer.send(
                new ProducerRecord<>(topic, partition, key, value),
                (meta, e) -> {
                    if (e != null) {
                        done.completeExceptionally(e);
                    } else {
                        // LogAppendTime topics report the broker's append time here
                        done.complete(
                                new Published(id, meta.timestamp(), key.length + value.length, 1));
                    }
                });
        return done;
    }

    /** Time spent encoding updates so far. */
    long encodeNanos() {
        return encodeNanos.get();
    }

    @Override
    public void flush() {
        producer.flush();
    }

    @Override
    public void close() {
        producer.close();
    }
}
