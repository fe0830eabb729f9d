package io.fedstream.worker;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the site's own feedback topic ({@code rejected-updates.<site>}, read_committed) on a
 * thread of its own and hands each of the site's dead letters to a callback. A topic that exists
 * when it starts is read from its end (what happened before is in {@code ./fedstream rejections});
 * a topic the job creates later, at the site's first rejection, is read from its beginning. Until
 * it exists, it is looked for every {@link #RECHECK}.
 */
final class SiteFeedback implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SiteFeedback.class);
    static final Duration RECHECK = Duration.ofSeconds(5);

    private final String topic;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Consumer<RejectedUpdate> callback;
    private final Thread thread;
    private volatile boolean running = true;

    SiteFeedback(Properties consumerProps, String topic, Consumer<RejectedUpdate> callback) {
        Properties p = new Properties();
        p.putAll(consumerProps);
        p.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false");
        p.put(
                ConsumerConfig.CLIENT_ID_CONFIG,
                p.get(ConsumerConfig.CLIENT_ID_CONFIG) + "-feedback");
        this.topic = topic;
        this.consumer = ByteClients.consumer(p);
        this.callback = callback;
        this.thread = new Thread(this::loop, "feedback-" + topic);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void loop() {
        try {
            boolean existedAtStart = true;
            List<TopicPartition> parts = List.of();
            while (running && parts.isEmpty()) {
                List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(10));
                if (infos == null || infos.isEmpty()) {
                    existedAtStart = false;
                    synchronized (this) {
                        if (running) {
                            wait(RECHECK.toMillis());
                        }
                    }
                    continue;
                }
                parts = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            }
            if (!running) {
                return;
            }
            consumer.assign(parts);
            if (existedAtStart) {
                consumer.seekToEnd(parts);
            } else {
                consumer.seekToBeginning(parts);
            }
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    try {
                        callback.accept(AvroCodec.REJECTED_UPDATE.decode(r.value()));
                    } catch (AvroCodec.DecodeException e) {
                        LOG.warn(
                                "undecodable feedback record at {}@{}: {}",
                                topic,
                                r.offset(),
                                e.getMessage());
                    }
                }
            }
        } catch (WakeupException | InterruptedException e) {
            // closing
        } catch (RuntimeException e) {
            if (running) {
                LOG.warn("no longer following {}: {}", topic, e.toString());
            }
        } finally {
            consumer.close(Duration.ofSeconds(1));
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        synchronized (this) {
            notifyAll();
        }
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
