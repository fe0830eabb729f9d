package io.fedstream.cli;

import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.avro.CloseReason;
import io.fedstream.schemas.avro.Contribution;
import io.fedstream.schemas.avro.GlobalModel;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.errors.WakeupException;

/**
 * Prints each global version the job publishes, as the sites see it (read_committed from {@code
 * global-models}): number, close reason, contributors, staleness, round time; and, for a round that
 * closed at its deadline with fewer sites than the quorum, why it waited.
 */
final class JobProgress implements AutoCloseable {
    static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault());

    private final TopicReader reader;
    private final Thread thread;
    private final int quorum;
    private final Duration timeout;
    private final List<String> federations;
    private final PrintStream out;
    private volatile boolean running = true;

    private JobProgress(
            TopicReader reader,
            int quorum,
            Duration timeout,
            List<String> federations,
            PrintStream out) {
        this.reader = reader;
        this.quorum = quorum;
        this.timeout = timeout;
        this.federations = federations;
        this.out = out;
        this.thread = new Thread(this::loop, "fedstream-job-progress");
        this.thread.setDaemon(true);
    }

    /** Starts printing versions published from now on. */
    static JobProgress start(
            String bootstrap,
            Properties client,
            String topic,
            int quorum,
            Duration timeout,
            List<String> federations,
            PrintStream out) {
        JobProgress p =
                new JobProgress(
                        new TopicReader(bootstrap, client, topic, true),
                        quorum,
                        timeout,
                        federations,
                        out);
        p.thread.start();
        return p;
    }

    private void loop() {
        try {
            while (running) {
                for (ConsumerRecord<byte[], byte[]> r : reader.poll(Duration.ofMillis(500))) {
                    if (r.value() == null || !AvroCodec.GLOBAL_MODEL.accepts(r.value())) {
                        continue; // a GlobalChunk
                    }
                    GlobalModel g = AvroCodec.GLOBAL_MODEL.decode(r.value());
                    if (federations.isEmpty() || federations.contains(g.getFederationId())) {
                        out.println(describe(g, quorum, timeout));
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (RuntimeException e) {
            out.println("(no longer printing versions: " + Errors.oneLine(e) + ")");
        }
    }

    /** One version as the job prints it. */
    static String describe(GlobalModel g, int quorum, Duration timeout) {
        var m = g.getManifest();
        List<Contribution> cs = m.getContributions();
        TreeSet<String> sites = new TreeSet<>();
        cs.forEach(c -> sites.add(c.getSiteId()));
        long opened = m.getRoundOpenedAtMs().toEpochMilli();
        long closed = m.getRoundClosedAtMs().toEpochMilli();
        StringBuilder s =
                new StringBuilder(
                        String.format(
                                Locale.ROOT,
                                "%s %s version %d  %-8s",
                                TIME.format(Instant.ofEpochMilli(closed)),
                                g.getFederationId(),
                                g.getVersion(),
                                m.getCloseReason()));
        if (m.getCloseReason() == CloseReason.GENESIS) {
            return s.append(" initial adapter, waiting for updates").toString();
        }
        s.append(
                String.format(
                        Locale.ROOT,
                        " %d updates from %d sites %s  staleness mean %.2f max %d  round %.1f s",
                        cs.size(),
                        sites.size(),
                        sites,
                        cs.stream().mapToLong(Contribution::getStaleness).average().orElse(0),
                        cs.stream().mapToLong(Contribution::getStaleness).max().orElse(0),
                        (closed - opened) / 1000.0));
        if (m.getCloseReason() == CloseReason.DEADLINE && cs.size() < quorum) {
            s.append(
                    String.format(
                            Locale.ROOT,
                            "%n    closed at its deadline (fedstream.round.timeout %s) with %d of"
                                    + " the quorum of %d updates: fewer sites than the quorum sent"
                                    + " updates in time (one stopped or is slow?); a smaller"
                                    + " fedstream.round.quorum keeps rounds going without waiting",
                            timeout,
                            cs.size(),
                            quorum));
        }
        return s.toString();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        reader.wakeup();
        thread.join(5_000);
        reader.close();
    }
}
