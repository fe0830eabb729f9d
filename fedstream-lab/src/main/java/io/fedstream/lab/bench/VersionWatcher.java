package io.fedstream.lab.bench;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Follows the job's output topic in a thread and notes when each global version could first be
 * read: with {@code read_committed} that is when the checkpoint after it completed (what workers
 * see); with {@code read_uncommitted} when the job's sink wrote it. Optionally follows the
 * dead-letter topic too, so that a rejected update fails the bench at once instead of stalling a
 * round.
 */
final class VersionWatcher implements AutoCloseable {

    /** A version as the watcher saw it: when, and which updates it contains. */
    record Seen(long version, long seenAtMs, List<String> updateIds) {}

    private final Map<Long, Seen> versions = new ConcurrentHashMap<>();
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final KafkaConsumer<byte[], byte[]> rejectedConsumer;
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long latest = -1;
    private volatile String rejection;
    private volatile Throwable failure;

    VersionWatcher(
            Properties client,
            String globalTopic,
            String rejectedTopic,
            boolean committed,
            int maxRecordBytes) {
        AvroCodec.trustGeneratedClasses();
        Properties p = new Properties();
        p.putAll(client);
        p.put("isolation.level", committed ? "read_committed" : "read_uncommitted");
        p.put("max.partition.fetch.bytes", Integer.toString(maxRecordBytes));
        p.put("fetch.max.bytes", Integer.toString(maxRecordBytes));
        consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        TopicPartition tp = new TopicPartition(globalTopic, 0);
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        if (rejectedTopic != null) {
            rejectedConsumer =
                    new KafkaConsumer<>(
                            p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            TopicPartition rp = new TopicPartition(rejectedTopic, 0);
            rejectedConsumer.assign(List.of(rp));
            rejectedConsumer.seekToBeginning(List.of(rp));
        } else {
            rejectedConsumer = null;
        }
        thread = new Thread(this::loop, "bench-versions-" + (committed ? "committed" : "written"));
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        try {
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
                    long now = System.currentTimeMillis();
                    if (!AvroCodec.GLOBAL_MODEL.accepts(r.value())) {
                        continue; // a GlobalChunk; the version's manifest is what is waited for
                    }
                    GlobalModel g = AvroCodec.GLOBAL_MODEL.decode(r.value());
                    List<String> ids = new ArrayList<>();
                    for (Contribution c : g.getManifest().getContributions()) {
                        ids.add(c.getUpdateId());
                    }
                    versions.putIfAbsent(g.getVersion(), new Seen(g.getVersion(), now, ids));
                    latest = Math.max(latest, g.getVersion());
                }
                if (rejectedConsumer != null && rejection == null) {
                    for (ConsumerRecord<byte[], byte[]> r : rejectedConsumer.poll(Duration.ZERO)) {
                        RejectedUpdate u = AvroCodec.REJECTED_UPDATE.decode(r.value());
                        rejection = u.getUpdateId() + ": " + u.getReason() + " " + u.getDetail();
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (Throwable e) {
            failure = e;
        }
    }

    /** The newest version seen so far, -1 before version 0. */
    long latest() {
        return latest;
    }

    /**
     * Waits until {@code version} is seen; fails if an update was rejected, the watcher failed,
     * {@code stopped} says the job is gone, or the timeout passes.
     */
    Seen await(long version, Duration timeout, BooleanSupplier stopped)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Seen s = versions.get(version);
            if (s != null) {
                return s;
            }
            if (rejection != null) {
                throw new IllegalStateException("the job rejected an update: " + rejection);
            }
            if (failure != null) {
                throw new IllegalStateException("reading versions failed", failure);
            }
            if (stopped.getAsBoolean()) {
                throw new IllegalStateException("the job stopped before version " + version);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "no version " + version + " after " + timeout + " (latest " + latest + ")");
            }
            Thread.sleep(2);
        }
    }

    private boolean closed;

    @Override
    public void close() throws InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        running = false;
        thread.join(10_000);
        consumer.close();
        if (rejectedConsumer != null) {
            rejectedConsumer.close();
        }
    }
}
