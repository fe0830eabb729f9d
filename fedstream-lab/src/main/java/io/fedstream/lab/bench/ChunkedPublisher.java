package io.fedstream.lab.bench;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.ChunkLayout;
import io.fedstream.schemas.UpdateChunking;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * An update as workers publish it: its chunks ({@link UpdateChunking}, the federation's layout),
 * then its manifest, signed by {@code signer} (as a worker signs), all with Kafka's default record
 * limits and the worker's producer settings (idempotent, acks=all, no compression). Every record of
 * one update goes to the same partition, chosen in turn per update so that a job with parallelism 2
 * has two source splits to read.
 */
final class ChunkedPublisher implements UpdatePublisher {
    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final int partitions;
    private final ChunkLayout layout;
    private final Consumer<UpdateManifest> signer;
    private final AtomicLong next = new AtomicLong();

    /**
     * @param signer signs a manifest in place (the site's key), or does nothing when unsigned
     */
    ChunkedPublisher(
            Properties client,
            String topic,
            int partitions,
            ChunkLayout layout,
            Consumer<UpdateManifest> signer) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "bench-sites-chunked-" + topic);
        this.producer =
                new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        this.topic = topic;
        this.partitions = partitions;
        this.layout = layout;
        this.signer = signer;
    }

    @Override
    public CompletableFuture<Published> publish(AdapterUpdate update) {
        UpdateChunking.Chunked chunked = UpdateChunking.split(update, layout);
        signer.accept(chunked.manifest());
        byte[] key = update.getFederationId().getBytes(StandardCharsets.UTF_8);
        int partition = (int) (next.getAndIncrement() % partitions);
        List<CompletableFuture<RecordMetadata>> acks = new ArrayList<>();
        long bytes = 0;
        for (UpdateChunk c : chunked.chunks()) {
            byte[] value = AvroCodec.UPDATE_CHUNK.encode(c);
            bytes += key.length + value.length;
            acks.add(send(partition, key, value));
        }
        byte[] manifest = AvroCodec.UPDATE_MANIFEST.encode(chunked.manifest());
        bytes += key.length + manifest.length;
        CompletableFuture<RecordMetadata> last = send(partition, key, manifest);
        acks.add(last);
        long total = bytes;
        int records = acks.size();
        String id = update.getUpdateId();
        return CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new))
                .thenApply(v -> new Published(id, last.join().timestamp(), total, records));
    }

    private CompletableFuture<RecordMetadata> send(int partition, byte[] key, byte[] value) {
        CompletableFuture<RecordMetadata> done = new CompletableFuture<>();
        producer.send(
                new ProducerRecord<>(topic, partition, key, value),
                (meta, e) -> {
                    if (e != null) {
                        done.completeExceptionally(e);
                    } else {
                        done.complete(meta); // LogAppendTime topics report the append time
                    }
                });
        return done;
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
