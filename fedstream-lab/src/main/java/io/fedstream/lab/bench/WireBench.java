package io.fedstream.lab.bench;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.cli.LocalFederation;
import io.fedstream.cli.LocalTasks;
import io.fedstream.cli.RetrievalLocalTask;
import io.fedstream.cli.VersionRow;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.UpdateEncoding;
import io.fedstream.schemas.UpdateKey;
import io.fedstream.schemas.avro.UpdateChunk;
import io.fedstream.schemas.avro.UpdateManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code ./fedstream bench wire}: for float32 and each update encoding, the local run's default
 * task (MiniLM + LoRA retrieval on MedQuAD, 9 sites, the same seed) through the real job for a few
 * versions, in synchronous rounds (quorum 9, no deadline, no extra delays: every round holds every
 * site's update from the newest version, so rounds do not depend on timing and the runs differ only
 * by the encoding; with the local run's quorum 8 the sites in each round vary from run to run and
 * move recall@1 by about 2 points, more than the encodings do): bytes per update as they travel
 * (every chunk record and the manifest of each update on the updates topic, Avro framing included)
 * and the held-out recall@1 at the last version; then the job's accumulate kernel per decoded
 * element in each encoding (JMH, {@link WireBenchmark}). The chosen encoding is the one with the
 * fewest bytes whose metric is within {@link #MAX_LOSS_POINTS} points of float32's; the last line
 * is {@code bytes ratio: X}, float32's bytes per update over the chosen one's.
 */
public final class WireBench {
    /** Metric loss (points of recall@1) an encoding may cost to be chosen. */
    static final double MAX_LOSS_POINTS = 0.5;

    private WireBench() {}

    /** What to run. */
    public record Settings(boolean quick, List<String> encodings, Path data) {}

    /** The local run's seed. */
    static final long SEED = 42;

    private record Row(
            UpdateEncoding encoding, double bytesPerUpdate, long updates, double metric) {}

    public static int run(Settings s) throws Exception {
        List<UpdateEncoding> encodings = new ArrayList<>();
        encodings.add(UpdateEncoding.FLOAT32);
        for (String e : s.encodings()) {
            // float32 again is a second float32 run: how much the metric moves between runs
            encodings.add(UpdateEncoding.parse(e));
        }
        int versions = s.quick() ? 2 : 5;
        Path cache = LocalTasks.defaultCacheDir();
        List<Row> rows = new ArrayList<>();
        try (RetrievalLocalTask task =
                LocalTasks.retrieval(s.data(), 9, 32, 40, 2, 3e-3, SEED, cache)) {
            System.out.println("task: " + task.description());
            for (UpdateEncoding enc : encodings) {
                rows.add(federate(task, enc, versions, SEED));
            }
        }
        System.out.printf(
                Locale.ROOT,
                "%nthe default task, 9 sites, synchronous rounds (quorum 9), seed %d, metric at"
                        + " version %d:%n",
                SEED,
                versions);
        System.out.printf(
                Locale.ROOT,
                "%-10s %14s %10s %8s %10s %10s%n",
                "encoding",
                "bytes/update",
                "vs f32",
                "updates",
                "recall@1",
                "points");
        Row f32 = rows.get(0);
        Row chosen = f32;
        for (Row r : rows) {
            double points = 100 * (r.metric() - f32.metric());
            System.out.printf(
                    Locale.ROOT,
                    "%-10s %14.0f %9.2fx %8d %10.3f %+10.1f%n",
                    r.encoding(),
                    r.bytesPerUpdate(),
                    f32.bytesPerUpdate() / r.bytesPerUpdate(),
                    r.updates(),
                    r.metric(),
                    points);
            if (points >= -MAX_LOSS_POINTS && r.bytesPerUpdate() < chosen.bytesPerUpdate()) {
                chosen = r;
            }
        }
        kernel(s.quick(), encodings.stream().distinct().toList());
        System.out.printf(
                Locale.ROOT,
                "chosen: %s (fewest bytes within %.1f points of float32's recall@1)%n",
                chosen.encoding(),
                MAX_LOSS_POINTS);
        System.out.printf(
                Locale.ROOT, "bytes ratio: %.2f%n", f32.bytesPerUpdate() / chosen.bytesPerUpdate());
        return 0;
    }

    private static Row federate(
            RetrievalLocalTask task, UpdateEncoding enc, int versions, long seed) throws Exception {
        LocalFederation.Settings settings =
                new LocalFederation.Settings(
                        9,
                        seed,
                        0.5,
                        9,
                        Duration.ofMinutes(30),
                        Duration.ofSeconds(1),
                        Duration.ZERO,
                        2);
        Path dir = Files.createTempDirectory("fedstream-wire-");
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            double metric;
            try (LocalFederation fed =
                    new LocalFederation(kafka, settings, task, false).withEncoding(enc)) {
                Configuration conf = fed.jobConfiguration(dir);
                conf.set(RestOptions.PORT, 0);
                StreamExecutionEnvironment env =
                        StreamExecutionEnvironment.getExecutionEnvironment(conf);
                fed.start(
                        env,
                        conf,
                        row ->
                                System.out.printf(
                                        Locale.ROOT,
                                        "%s: %s%n",
                                        enc,
                                        row.console(task.metricName())));
                fed.awaitVersions(versions, Duration.ofHours(1), () -> false);
                metric =
                        fed.rows().stream()
                                .filter(r -> r.version() == versions)
                                .mapToDouble(VersionRow::metric)
                                .findFirst()
                                .orElseThrow();
            }
            long[] bytesAndUpdates = wireBytes(kafka);
            return new Row(
                    enc,
                    (double) bytesAndUpdates[0] / bytesAndUpdates[1],
                    bytesAndUpdates[1],
                    metric);
        } finally {
            try (var paths = Files.walk(dir)) {
                for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /**
     * Bytes of the chunk records and manifests of every update with a manifest, and their count.
     */
    private static long[] wireBytes(EmbeddedKafka kafka) {
        java.util.Properties p = kafka.clientProperties();
        p.put("max.partition.fetch.bytes", Integer.toString(64 << 20));
        Map<String, Long> bytes = new HashMap<>();
        Set<String> manifests = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts =
                    c.partitionsFor(Topics.ADAPTER_UPDATES).stream()
                            .map(i -> new TopicPartition(i.topic(), i.partition()))
                            .toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    String key;
                    if (AvroCodec.UPDATE_CHUNK.accepts(r.value())) {
                        UpdateChunk ch = AvroCodec.UPDATE_CHUNK.decode(r.value());
                        key = UpdateKey.of(ch.getSiteId(), ch.getUpdateId());
                    } else if (AvroCodec.UPDATE_MANIFEST.accepts(r.value())) {
                        UpdateManifest m = AvroCodec.UPDATE_MANIFEST.decode(r.value());
                        key = UpdateKey.of(m.getSiteId(), m.getUpdateId());
                        manifests.add(key);
                    } else {
                        continue;
                    }
                    bytes.merge(key, (long) r.value().length, Long::sum);
                }
            }
        }
        long total = 0;
        for (String k : manifests) {
            total += bytes.get(k);
        }
        return new long[] {total, manifests.size()};
    }

    private static void kernel(boolean quick, List<UpdateEncoding> encodings) throws Exception {
        System.out.printf(
                Locale.ROOT,
                "%naccumulate kernel on one chunk of 131072 elements (the job's; JMH, 1 fork, %s,"
                        + " best iteration; kernel in this JVM: %s)%n",
                quick ? "3x0.5 s warm-up, 3x0.5 s measured" : "5x1 s warm-up, 5x1 s measured",
                LittleEndianFloats.kernel());
        System.out.printf(
                Locale.ROOT,
                "%-10s %10s %12s %8s%n",
                "encoding",
                "ns/elem",
                "vs float32",
                "mean %");
        double f32 = 0;
        for (UpdateEncoding enc : encodings) {
            ChainedOptionsBuilder o =
                    new OptionsBuilder()
                            .include(WireBenchmark.class.getName() + ".accumulate$")
                            .param("encoding", enc.toString());
            // long warm-ups: the Vector API code is only fast once C2 has compiled it, which takes
            // seconds on a loaded machine
            RunResult result =
                    quick
                            ? AggregateBench.jmh(
                                    o,
                                    3,
                                    TimeValue.milliseconds(500),
                                    3,
                                    TimeValue.milliseconds(500))
                            : AggregateBench.jmh(
                                    o, 5, TimeValue.seconds(1), 5, TimeValue.seconds(1));
            double best = AggregateBench.best(result);
            double ns = 1e9 / (best * 131072);
            if (f32 == 0) {
                f32 = ns;
            }
            System.out.printf(
                    Locale.ROOT,
                    "%-10s %10.3f %11.2fx %8.0f%n",
                    enc,
                    ns,
                    ns / f32,
                    100 * result.getPrimaryResult().getScore() / best);
        }
    }
}
