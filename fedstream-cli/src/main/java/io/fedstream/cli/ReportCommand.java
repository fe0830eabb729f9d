package io.fedstream.cli;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.WakeupException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./fedstream report}: a federation's HTML report page, from Kafka. */
@Command(
        name = "report",
        mixinStandardHelpOptions = true,
        description = {
            "Writes DIR/report.html for a federation from its global versions (global-models) and"
                    + " dead letters (rejected-updates): the metric per version where known, each"
                    + " site's updates and staleness, rejections by reason, round latency. One"
                    + " self-contained file (inline SVG, no script, nothing fetched). With --follow"
                    + " it keeps the page up to date (the page reloads itself) until Ctrl-C."
        })
final class ReportCommand implements Callable<Integer> {

    @Mixin KafkaOptions kafka = new KafkaOptions();

    @Option(names = "--federation", required = true, description = "Federation id.")
    String federation;

    @Option(names = "--out", required = true, description = "Directory to write report.html to.")
    Path out;

    @Option(names = "--follow", description = "Keep the page up to date until Ctrl-C.")
    boolean follow;

    @Option(
            names = "--refresh",
            defaultValue = "5",
            description =
                    "With --follow: seconds between updates of the page (default ${DEFAULT-VALUE}).")
    int refresh;

    @Override
    public Integer call() throws Exception {
        if (refresh < 1) {
            throw new Errors.UsageError("--refresh " + refresh + ": at least 1 second");
        }
        Properties client = kafka.clientProperties();
        Preflight.kafka(kafka.bootstrap, client, Preflight.KAFKA_TIMEOUT);
        Collector c = new Collector(federation, Map.of());
        try (TopicReader versions =
                        new TopicReader(kafka.bootstrap, client, Topics.GLOBAL_MODELS, false);
                TopicReader dead =
                        new TopicReader(kafka.bootstrap, client, Topics.REJECTED_UPDATES, false)) {
            BooleanSupplier running =
                    follow ? TopicReader.runningUntilShutdown(versions, dead) : () -> true;
            long nextWrite = 0;
            try {
                while (running.getAsBoolean()) {
                    versions.poll(Duration.ofMillis(200)).forEach(c::version);
                    dead.poll(Duration.ofMillis(50)).forEach(c::rejection);
                    if (!follow) {
                        if (versions.caughtUp() && dead.caughtUp()) {
                            break;
                        }
                    } else if (System.currentTimeMillis() >= nextWrite) {
                        Path file = ReportPage.write(out, c.data(refresh));
                        if (nextWrite == 0) {
                            System.out.println(
                                    "report at "
                                            + file.toAbsolutePath()
                                            + ", updated every "
                                            + refresh
                                            + " s; Ctrl-C stops");
                        }
                        nextWrite = System.currentTimeMillis() + refresh * 1000L;
                    }
                }
            } catch (WakeupException stopping) {
                // Ctrl-C
            }
        }
        Path file = ReportPage.write(out, c.data(0));
        System.out.printf(
                "report at %s: %d versions, %d dead letters of federation %s%n",
                file.toAbsolutePath(), c.versions.size(), c.rejections.size(), federation);
        return 0;
    }

    /**
     * The report of {@code federation} as Kafka has it now, with {@code metric} per version where
     * the caller knows one (e.g. {@code ./fedstream local}'s held-out accuracy), written to {@code
     * dir}.
     */
    static Path writeFromKafka(
            String bootstrap,
            String federation,
            Map<Long, Double> metric,
            String metricName,
            String title,
            Path dir)
            throws Exception {
        Collector c = new Collector(federation, metric);
        Properties client = new Properties();
        try (TopicReader versions =
                        new TopicReader(bootstrap, client, Topics.GLOBAL_MODELS, false);
                TopicReader dead =
                        new TopicReader(bootstrap, client, Topics.REJECTED_UPDATES, false)) {
            while (!(versions.caughtUp() && dead.caughtUp())) {
                versions.poll(Duration.ofMillis(200)).forEach(c::version);
                dead.poll(Duration.ofMillis(50)).forEach(c::rejection);
            }
        }
        ReportPage.Data d = c.data(0);
        return ReportPage.write(
                dir,
                new ReportPage.Data(
                        title,
                        d.federation(),
                        metricName,
                        d.versions(),
                        d.rejections(),
                        d.generatedAt(),
                        0));
    }

    /** Gathers a federation's versions and dead letters from their records. */
    static final class Collector {
        final String federation;
        final Map<Long, Double> metric;
        final Map<Long, ReportPage.Version> versions = new TreeMap<>();
        final List<ReportPage.Rejection> rejections = new ArrayList<>();

        Collector(String federation, Map<Long, Double> metric) {
            this.federation = federation;
            this.metric = metric;
            AvroCodec.trustGeneratedClasses();
        }

        void version(ConsumerRecord<byte[], byte[]> r) {
            if (r.value() == null || !AvroCodec.GLOBAL_MODEL.accepts(r.value())) {
                return; // a chunk
            }
            GlobalModel g;
            try {
                g = AvroCodec.GLOBAL_MODEL.decode(r.value());
            } catch (AvroCodec.DecodeException e) {
                return;
            }
            if (!federation.equals(g.getFederationId().toString())) {
                return;
            }
            versions.put(g.getVersion(), of(g, metric.get(g.getVersion())));
        }

        void rejection(ConsumerRecord<byte[], byte[]> r) {
            RejectedUpdate u;
            try {
                u = AvroCodec.REJECTED_UPDATE.decode(r.value());
            } catch (AvroCodec.DecodeException e) {
                return;
            }
            // dead letters without a federation (garbage) count for every federation's operator
            if (u.getFederationId() == null || federation.equals(u.getFederationId().toString())) {
                rejections.add(
                        new ReportPage.Rejection(
                                u.getSiteId() == null ? null : u.getSiteId().toString(),
                                u.getReason().name()));
            }
        }

        ReportPage.Data data(int refreshSeconds) {
            return new ReportPage.Data(
                    "FedStream report: " + federation,
                    federation,
                    metric.isEmpty() ? null : "metric",
                    List.copyOf(versions.values()),
                    List.copyOf(rejections),
                    Instant.now(),
                    refreshSeconds);
        }
    }

    static ReportPage.Version of(GlobalModel g, Double metric) {
        List<ReportPage.Contribution> cs = new ArrayList<>();
        for (Contribution c : g.getManifest().getContributions()) {
            cs.add(
                    new ReportPage.Contribution(
                            c.getSiteId().toString(), c.getStaleness(), c.getNumExamples()));
        }
        return new ReportPage.Version(
                g.getVersion(),
                g.getManifest().getCloseReason().name(),
                g.getManifest().getRoundOpenedAtMs().toEpochMilli(),
                g.getManifest().getRoundClosedAtMs().toEpochMilli(),
                cs,
                metric);
    }
}
