package io.fedstream.job;

import static io.fedstream.job.FedStreamOptions.BOOTSTRAP_SERVERS;
import static io.fedstream.job.FedStreamOptions.CLIENT_PROPERTIES_FILE;
import static io.fedstream.job.FedStreamOptions.MAX_RECORD_SIZE;
import static io.fedstream.job.FedStreamOptions.TRANSACTION_TIMEOUT;

import java.nio.file.Path;
import java.util.Properties;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * The Kafka I/O of both jobs, built one way from the same typed options ({@link FedStreamOptions}:
 * bootstrap servers, client properties file, {@code fedstream.kafka.max-record-size}, transaction
 * timeout): read_committed sources that start from the committed offsets (earliest without) and
 * commit on checkpoints, exactly-once transactional sinks, and the consumer properties of the jobs'
 * lookups. Fetch sizes are never below Kafka's defaults (1 MB per partition, 50 MB per fetch), so a
 * fetch carries many chunks, and are raised only for a larger max-record-size; the producers'
 * {@code max.request.size} is the max-record-size.
 */
public final class KafkaIo {
    private final ReadableConfig conf;
    private final String maxRecord;
    private final String maxFetch;

    public KafkaIo(ReadableConfig conf) {
        this.conf = conf;
        long maxRecordBytes = conf.get(MAX_RECORD_SIZE).getBytes();
        this.maxRecord = Long.toString(Math.max(maxRecordBytes, 1L << 20));
        this.maxFetch = Long.toString(Math.max(maxRecordBytes, 50L << 20));
    }

    /**
     * The extra Kafka client properties of {@link FedStreamOptions#CLIENT_PROPERTIES_FILE}
     * (security settings), empty if none. The job's own settings (isolation level, transactions,
     * record sizes) are applied after them and win.
     */
    public static Properties clientProperties(ReadableConfig conf) {
        Properties p = new Properties();
        conf.getOptional(CLIENT_PROPERTIES_FILE)
                .ifPresent(
                        f -> {
                            try (var in = java.nio.file.Files.newBufferedReader(Path.of(f))) {
                                p.load(in);
                            } catch (java.io.IOException e) {
                                throw new IllegalArgumentException(
                                        "cannot read Kafka client properties from "
                                                + f
                                                + ": "
                                                + e.getMessage(),
                                        e);
                            }
                        });
        return p;
    }

    /** The source of a job's updates topic: raw records, read_committed, in the consumer group. */
    public KafkaSource<RawRecord> updates(String topic, String groupId) {
        return KafkaSource.<RawRecord>builder()
                .setProperties(clientProperties(conf))
                .setBootstrapServers(conf.get(BOOTSTRAP_SERVERS))
                .setTopics(topic)
                .setGroupId(groupId)
                .setStartingOffsets(
                        OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawRecordDeserializer())
                .setProperty("isolation.level", "read_committed")
                .setProperty("max.partition.fetch.bytes", maxRecord)
                .setProperty("fetch.max.bytes", maxFetch)
                .setProperty("commit.offsets.on.checkpoint", "true")
                .build();
    }

    /** Consumer properties of the lookups that read a topic at start, with the same fetch sizes. */
    public Properties lookupProperties() {
        Properties p = adminProperties();
        p.put("max.partition.fetch.bytes", maxRecord);
        p.put("fetch.max.bytes", maxFetch);
        return p;
    }

    /** The client properties and the bootstrap servers, for an admin client. */
    public Properties adminProperties() {
        Properties p = new Properties();
        p.putAll(clientProperties(conf));
        p.put("bootstrap.servers", conf.get(BOOTSTRAP_SERVERS));
        return p;
    }

    /** An exactly-once transactional sink of OutRecords to {@code topic}. */
    public KafkaSink<OutRecord> sink(String topic, String transactionalIdPrefix) {
        return sink(new OutRecordSerializer(topic), transactionalIdPrefix);
    }

    /** An exactly-once transactional sink with its own record serializer. */
    public <T> KafkaSink<T> sink(
            KafkaRecordSerializationSchema<T> serializer, String transactionalIdPrefix) {
        return KafkaSink.<T>builder()
                .setKafkaProducerConfig(clientProperties(conf))
                .setBootstrapServers(conf.get(BOOTSTRAP_SERVERS))
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                .setTransactionalIdPrefix(transactionalIdPrefix)
                .setProperty(
                        "transaction.timeout.ms",
                        Long.toString(conf.get(TRANSACTION_TIMEOUT).toMillis()))
                .setProperty(
                        "max.request.size", Long.toString(conf.get(MAX_RECORD_SIZE).getBytes()))
                .build();
    }
}
