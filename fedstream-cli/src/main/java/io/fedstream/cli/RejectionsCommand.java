package io.fedstream.cli;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.RejectedUpdate;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./fedstream rejections}: the dead-letter topic as a table, for operators. */
@Command(
        name = "rejections",
        mixinStandardHelpOptions = true,
        description = {
            "Prints the dead letters (rejected-updates) as a table: offset, time, site, update,"
                    + " reason and detail, optionally for one federation or site; with --follow"
                    + " it keeps printing new ones until Ctrl-C. The reason codes are listed in"
                    + " docs/operations.md."
        })
final class RejectionsCommand implements Callable<Integer> {

    @Mixin KafkaOptions kafka = new KafkaOptions();

    @Option(names = "--federation", description = "Only this federation's dead letters.")
    String federation;

    @Option(names = "--site", description = "Only this site's dead letters.")
    String site;

    @Option(names = "--follow", description = "Keep printing new dead letters until Ctrl-C.")
    boolean follow;

    @Option(
            names = "--topic",
            defaultValue = Topics.REJECTED_UPDATES,
            description = "Dead-letter topic (default ${DEFAULT-VALUE}).")
    String topic;

    @Override
    public Integer call() throws Exception {
        var client = kafka.clientProperties();
        Preflight.kafka(kafka.bootstrap, client, Preflight.KAFKA_TIMEOUT);
        AvroCodec.trustGeneratedClasses();
        PrintStream out = System.out;
        try (TopicReader reader = new TopicReader(kafka.bootstrap, client, topic, false)) {
            BooleanSupplier running =
                    follow ? TopicReader.runningUntilShutdown(reader) : () -> true;
            out.println(header());
            long shown = 0;
            long total = 0;
            try {
                while (running.getAsBoolean()) {
                    for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(500))) {
                        total++;
                        String line = row(r, federation, site);
                        if (line != null) {
                            out.println(line);
                            shown++;
                        }
                    }
                    if (!follow && reader.caughtUp()) {
                        break;
                    }
                }
            } catch (org.apache.kafka.common.errors.WakeupException stopping) {
                // Ctrl-C with --follow
            }
            out.printf(
                    Locale.ROOT,
                    "%d dead letter%s%s in %s%n",
                    shown,
                    shown == 1 ? "" : "s",
                    shown == total ? "" : " shown of " + total,
                    topic);
        }
        return 0;
    }

    static String header() {
        return String.format(
                Locale.ROOT,
                "%-8s %-8s %-12s %-12s %-20s %-19s %s",
                "offset",
                "time",
                "federation",
                "site",
                "update",
                "reason",
                "detail");
    }

    /** The table row of one dead letter, or null if the filters leave it out. */
    static String row(ConsumerRecord<byte[], byte[]> r, String federation, String site) {
        String offset =
                r.partition() == 0 ? Long.toString(r.offset()) : r.partition() + ":" + r.offset();
        RejectedUpdate u;
        try {
            u = AvroCodec.REJECTED_UPDATE.decode(r.value());
        } catch (RuntimeException e) {
            if (federation != null || site != null) {
                return null;
            }
            return String.format(
                    Locale.ROOT,
                    "%-8s %-8s (not a dead letter this version can read: %s)",
                    offset,
                    JobProgress.TIME.format(java.time.Instant.ofEpochMilli(r.timestamp())),
                    Errors.firstLine(e.getMessage()));
        }
        if (federation != null && !federation.equals(str(u.getFederationId()))) {
            return null;
        }
        if (site != null && !site.equals(str(u.getSiteId()))) {
            return null;
        }
        return String.format(
                Locale.ROOT,
                "%-8s %-8s %-12s %-12s %-20s %-19s %s",
                offset,
                JobProgress.TIME.format(u.getRejectedAtMs()),
                orDash(u.getFederationId()),
                orDash(u.getSiteId()),
                orDash(u.getUpdateId()),
                u.getReason(),
                Errors.firstLine(str(u.getDetail())));
    }

    private static String str(CharSequence s) {
        return s == null ? null : s.toString();
    }

    private static String orDash(CharSequence s) {
        return s == null ? "-" : s.toString();
    }
}
