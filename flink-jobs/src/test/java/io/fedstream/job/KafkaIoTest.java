package io.fedstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.job.prompt.PromptAggregationJob;
import java.lang.reflect.Field;
import java.util.Properties;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.junit.jupiter.api.Test;

/**
 * Both jobs build their Kafka I/O with {@link KafkaIo}: the same fetch and request sizes from the
 * same typed option. (The connector keeps its properties private; they are read by reflection.)
 */
class KafkaIoTest {

    private static Configuration conf(String maxRecordSize) {
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, "localhost:9092");
        if (maxRecordSize != null) {
            conf.set(FedStreamOptions.MAX_RECORD_SIZE, MemorySize.parse(maxRecordSize));
        }
        return conf;
    }

    @Test
    void thePromptJobReadsAndWritesWithTheAdapterJobsSizes() throws Exception {
        Configuration conf = conf("64mb");
        long mib64 = 64L << 20;
        for (Object source :
                new Object[] {
                    AggregationJob.Io.kafka(conf).updates(),
                    PromptAggregationJob.Io.kafka(conf).updates()
                }) {
            Properties p = field(KafkaSource.class, source, "props");
            assertThat(p.getProperty("max.partition.fetch.bytes")).isEqualTo(Long.toString(mib64));
            assertThat(p.getProperty("fetch.max.bytes")).isEqualTo(Long.toString(mib64));
            assertThat(p.getProperty("isolation.level")).isEqualTo("read_committed");
        }
        for (Object sink :
                new Object[] {
                    AggregationJob.Io.kafka(conf).globalModels(),
                    AggregationJob.Io.kafka(conf).rejected(),
                    PromptAggregationJob.Io.kafka(conf).globalPrompts(),
                    PromptAggregationJob.Io.kafka(conf).rejected()
                }) {
            Properties p = field(KafkaSink.class, sink, "kafkaProducerConfig");
            assertThat(p.getProperty("max.request.size")).isEqualTo(Long.toString(mib64));
        }
    }

    @Test
    void fetchSizesAreNeverBelowKafkasDefaults() throws Exception {
        Properties p =
                field(
                        KafkaSource.class,
                        PromptAggregationJob.Io.kafka(conf("256kb")).updates(),
                        "props");
        assertThat(p.getProperty("max.partition.fetch.bytes")).isEqualTo(Long.toString(1L << 20));
        assertThat(p.getProperty("fetch.max.bytes")).isEqualTo(Long.toString(50L << 20));
        assertThat(new KafkaIo(conf("256kb")).lookupProperties())
                .containsEntry("fetch.max.bytes", Long.toString(50L << 20))
                .containsEntry("bootstrap.servers", "localhost:9092");
    }

    @SuppressWarnings("unchecked")
    private static <T> T field(Class<?> type, Object owner, String name) throws Exception {
        Field f = type.getDeclaredField(name);
        f.setAccessible(true);
        return (T) f.get(owner);
    }
}
