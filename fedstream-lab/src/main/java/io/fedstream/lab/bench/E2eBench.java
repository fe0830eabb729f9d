package io.fedstream.lab.bench;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.avro.AdapterUpdate;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * {@code ./fedstream bench e2e}: simulated sites publish LoRA-sized updates (16.8 MB by default)
 * through a real broker ({@link EmbeddedKafka}) to the real aggregation job ({@link
 * AggregationJob#build} with {@link AggregationJob.Io#kafka}) on a local MiniCluster, in this JVM.
 *
 * <ul>
 *   <li>broker baseline: the same sites publish the same number of updates to a topic nobody reads
 *       (produce), then one consumer reads them all (consume); measured before and after the job
 *       runs;
 *   <li>per job parallelism: a latency phase (closed loop: a round's updates are sent from the
 *       newest version, then the bench waits until the next version can be read; time from the
 *       round's last append to the version being written, and being readable by read_committed
 *       consumers) and a throughput phase (open loop: the sites publish back to back from the
 *       newest version they have seen; time from the first send until the version holding the last
 *       update is readable);
 *   <li>heap: one run per quorum at parallelism 1, with the used heap after a full GC sampled in
 *       this JVM during the rounds, the sites at most {@link #HEAP_WINDOW} updates ahead of the
 *       job's accepted count ({@link AcceptedUpdates}).
 * </ul>
 *
 * Ends with {@code ratio: X}: the best job throughput over the broker's produce-then-consume
 * throughput (the better of its two runs; {@code --quick} measures the broker once).
 *
 * <p>Over 600 lines: one benchmark's phases, read top to bottom beside docs/benchmarks.md (lab
 * code, not shipped to sites).
 */
public final class E2eBench {
    /** Record size limit of the bench's topics, producers and job (the job's default). */
    static final int MAX_RECORD_BYTES = 64 << 20;

    static final int UPDATE_PARTITIONS = 2;
    static final String FEDERATION = "bench";

    /**
     * Heap runs: most updates sent but not yet accepted into a round. Keeps updates from queueing
     * in the broker and the clients' buffers (bounded, but larger the more is sent at once), so the
     * heap shows the job's state at every quorum.
     */
    static final int HEAP_WINDOW = 4;

    /** What to run. */
    public record Settings(
            boolean quick,
            long parameters,
            List<Integer> parallelisms,
            int quorum,
            List<Integer> heapQuorums,
            List<Duration> checkpointIntervals,
            int rounds,
            boolean signed,
            boolean wholeRecords,
            boolean dp) {

        int latencyRounds() {
            return quick ? 2 : rounds;
        }

        /**
         * Rounds each job runs before its latency rounds, not counted: the first rounds of the
         * first job in this JVM ran while C2 was still compiling (its "written" p99 was 1.8-4.8 s
         * in three invocations against at most 0.8 s for every later job), which a long-running job
         * is long past.
         */
        int warmUpRounds() {
            return quick ? 0 : 3;
        }

        /** The interval of the throughput rows, the ratio and the heap runs: the first given. */
        Duration mainInterval() {
            return checkpointIntervals.get(0);
        }

        int throughputUpdates() {
            int n = quick ? 2 * quorum : 64;
            return Math.max(quorum, n / quorum * quorum);
        }

        int brokerUpdates() {
            return throughputUpdates();
        }

        /**
         * Repetitions of each throughput measurement (the broker's before the job and each job's),
         * the best of which is reported: the first ones run while the JIT is still compiling the
         * broker's, Flink's and the job's code (in one run, C2 used a quarter of the machine's CPU
         * during the first job throughput run), which a long-running service is long past.
         */
        int throughputRuns() {
            return quick ? 1 : 5;
        }

        /** Rounds of a heap run: at least 64 updates in total (quick: one round). */
        int heapRounds(int q) {
            return quick ? 1 : Math.max(1, (64 + q - 1) / q);
        }

        long heapSampleMs() {
            return 500;
        }
    }

    private record Broker(long updates, long bytes, long produceNanos, long consumeNanos) {
        double gbps(long nanos) {
            return bytes / (double) nanos;
        }

        long totalNanos() {
            return produceNanos + consumeNanos;
        }
    }

    private record JobRun(
            int parallelism,
            int quorum,
            boolean dp,
            Duration interval,
            boolean heap,
            List<Long> roundMs,
            List<Long> writtenMs,
            List<Long> readableMs,
            long throughputUpdates,
            long throughputBytes,
            long throughputMs,
            long sendMs,
            List<Long> throughputRunsMs,
            long heapBefore,
            long heapIdle,
            long heapMax,
            int heapSamples,
            CheckpointCost.Phase latencyCheckpoints,
            CheckpointCost.Phase throughputCheckpoints,
            CheckpointCost.Snapshot checkpointsAtEnd) {

        double gbps() {
            return throughputBytes / (throughputMs * 1e6);
        }

        String label() {
            return "job p=" + parallelism + " q=" + quorum + (dp ? " DP" : "");
        }

        /** Per round: from the version being written to its being readable. */
        List<Long> commitWaitMs() {
            List<Long> out = new ArrayList<>();
            for (int i = 0; i < readableMs.size(); i++) {
                out.add(readableMs.get(i) - writtenMs.get(i));
            }
            return out;
        }
    }

    /**
     * The DP variant's privacy object: σ = 1 and a budget no site of the bench reaches (its cost is
     * the same whatever the budget), C = 1, δ = 1e-5, the divisor the quorum.
     */
    static PrivacySpec benchPrivacy(int quorum) {
        return new PrivacySpec(1.0, 1.0, 1e-5, 1e9, quorum);
    }

    private final Settings settings;
    private final EmbeddedKafka kafka;
    private final BenchSites sites;
    private final Path work;
    private long seq;
    private int runs;

    private E2eBench(Settings settings, EmbeddedKafka kafka, BenchSites sites, Path work) {
        this.settings = settings;
        this.kafka = kafka;
        this.sites = sites;
        this.work = work;
    }

    public static int run(Settings s) throws Exception {
        AvroCodec.trustGeneratedClasses();
        int layers = BenchSites.layersFor(s.parameters());
        FederationSpec spec = BenchSites.loraSpec(FEDERATION, layers);
        int siteCount =
                Math.max(s.quorum(), s.heapQuorums().stream().max(Integer::compare).orElse(0));
        long t0 = System.nanoTime();
        BenchSites sites = new BenchSites(spec, siteCount, s.signed(), 1);
        Path work = Files.createTempDirectory("fedstream-bench-e2e");
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            System.out.printf(
                    Locale.ROOT,
                    "update: %.1f MB (%d float32 in %d tensors: rank-%d LoRA on %s of %d layers,"
                            + " hidden %d); %d sites, %s; generated in %.1f s%n",
                    spec.parameterCount() * 4 / 1e6,
                    spec.parameterCount(),
                    spec.tensors().size(),
                    BenchSites.RANK,
                    String.join(",", BenchSites.PROJECTIONS),
                    layers,
                    BenchSites.HIDDEN,
                    siteCount,
                    s.signed() ? "each update signed (Ed25519), verified by the job" : "unsigned",
                    (System.nanoTime() - t0) / 1e9);
            System.out.printf(
                    Locale.ROOT,
                    "%s; updates topic %d partitions (written in turn), LogAppendTime; broker:"
                            + " embedded Kafka (KRaft) in this JVM%n",
                    s.wholeRecords()
                            ? String.format(
                                    Locale.ROOT,
                                    "one Kafka record per update (SingleRecordPublisher);"
                                            + " topics max.message.bytes = job max-record-size ="
                                            + " %d MiB",
                                    MAX_RECORD_BYTES >> 20)
                            : String.format(
                                    Locale.ROOT,
                                    "chunked as workers publish (ChunkedPublisher): %d chunks of"
                                            + " at most %d floats + a signed manifest per update,"
                                            + " Kafka's default record limits",
                                    spec.layout().chunkCount(),
                                    spec.chunkElements()),
                    UPDATE_PARTITIONS);
            System.out.printf(
                    Locale.ROOT,
                    "job: AggregationJob.build + Io.kafka on a local MiniCluster in this JVM;"
                            + " fedavg%s; rounds close at quorum; checkpoint interval %s ms (the"
                            + " job's default: %d ms) to a local directory, otherwise the job's"
                            + " checkpoint defaults (a version is readable by read_committed"
                            + " consumers once the checkpoint after it completes); JVM max heap %d"
                            + " MiB, %d cores%n",
                    s.dp() ? " (rows 'DP': dp-fedavg with " + benchPrivacy(s.quorum()) + ")" : "",
                    s.checkpointIntervals().stream()
                            .map(d -> Long.toString(d.toMillis()))
                            .collect(java.util.stream.Collectors.joining(", ")),
                    FedStreamOptions.CHECKPOINT_INTERVAL.defaultValue().toMillis(),
                    Runtime.getRuntime().maxMemory() >> 20,
                    Runtime.getRuntime().availableProcessors());
            return new E2eBench(s, kafka, sites, work).runAll();
        } finally {
            deleteRecursively(work);
        }
    }

    private int runAll() throws Exception {
        long sitesNanos = sitesAlone(settings.brokerUpdates());
        broker(Math.min(8, settings.brokerUpdates()), false); // warm-up, not reported
        Broker before = null;
        List<Long> brokerRunsNanos = new ArrayList<>();
        for (int r = 0; r < settings.throughputRuns(); r++) {
            Broker b = broker(settings.brokerUpdates(), true);
            brokerRunsNanos.add(b.totalNanos());
            if (before == null || b.totalNanos() < before.totalNanos()) {
                before = b;
            }
        }
        List<JobRun> jobs = new ArrayList<>();
        for (Duration interval : settings.checkpointIntervals()) {
            for (int p : settings.parallelisms()) {
                jobs.add(job(p, settings.quorum(), interval, false, false));
                if (settings.dp()) {
                    jobs.add(job(p, settings.quorum(), interval, false, true));
                }
            }
        }
        Broker after = settings.quick() ? null : broker(settings.brokerUpdates(), true);
        List<JobRun> heaps = new ArrayList<>();
        for (int q : settings.heapQuorums()) {
            heaps.add(job(1, q, settings.mainInterval(), true, false));
        }

        long recordBytes = before.bytes() / before.updates();
        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "%-52s %8s %7s %7s %10s %7s%n",
                "throughput",
                "updates",
                "GB",
                "s",
                "updates/s",
                "GB/s");
        long n = settings.brokerUpdates();
        throughputRow(
                "sites alone: build, sign, encode (no Kafka)", n, n * recordBytes, sitesNanos);
        brokerRows("before", before);
        if (settings.throughputRuns() > 1) {
            System.out.println(
                    "  (before the job: the best of "
                            + settings.throughputRuns()
                            + " runs by produce + consume time: "
                            + seconds(brokerRunsNanos.stream().map(ns -> ns / 1_000_000).toList())
                            + ")");
        }
        if (after != null) {
            brokerRows("after", after);
        }
        double bestBroker =
                Math.max(
                        before.gbps(before.produceNanos() + before.consumeNanos()),
                        after == null
                                ? 0
                                : after.gbps(after.produceNanos() + after.consumeNanos()));
        double bestJob = 0;
        for (JobRun j : jobs) {
            throughputRow(
                    j.label()
                            + " ckpt "
                            + j.interval().toMillis()
                            + " ms: back to back -> readable",
                    j.throughputUpdates(),
                    j.throughputBytes(),
                    j.throughputMs() * 1_000_000L);
            throughputRow(
                    "  of which sites sending (to the last update's append)",
                    j.throughputUpdates(),
                    j.throughputBytes(),
                    j.sendMs() * 1_000_000L);
            if (j.throughputRunsMs().size() > 1) {
                System.out.println(
                        "  (best of "
                                + j.throughputRunsMs().size()
                                + " runs in this job: "
                                + seconds(j.throughputRunsMs())
                                + ")");
            }
            if (j.interval().equals(settings.mainInterval())) {
                bestJob = Math.max(bestJob, j.gbps());
            }
        }

        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "%-26s %7s %6s | %8s %8s | %8s %8s | %8s %8s | %8s %8s%n",
                "latency (closed loop)",
                "ckpt ms",
                "rounds",
                "round p50",
                "p99",
                "written",
                "p99",
                "readable",
                "p99",
                "commit",
                "p99");
        System.out.printf(
                Locale.ROOT,
                "%-26s %7s %6s | %8s %8s | %8s %8s | %8s %8s | %8s %8s%n",
                "ms from a round's last append",
                "",
                "",
                "(send..",
                "readable)",
                "p50",
                "",
                "p50",
                "",
                "wait p50",
                "");
        for (JobRun j : jobs) {
            latencyRow(j);
        }
        System.out.printf(
                Locale.ROOT,
                "(each job runs %d warm-up rounds first, not counted; commit wait: readable -"
                        + " written per round, the part of the latency the checkpoint after the"
                        + " round adds)%n",
                settings.warmUpRounds());

        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "%-16s %7s %-10s %5s %6s | %7s %7s %7s | %7s | %8s %8s | %8s %8s%n",
                "checkpoints",
                "ckpt ms",
                "phase",
                "n",
                "ckpt/s",
                "MB min",
                "mean",
                "max",
                "MB/s",
                "snap CPU",
                "JVM CPU",
                "dur p50",
                "p99");
        for (JobRun j : jobs) {
            checkpointRow(j, "latency", j.latencyCheckpoints());
            if (j.throughputCheckpoints() != null) {
                checkpointRow(j, "throughput", j.throughputCheckpoints());
            }
        }
        System.out.println(
                "(n, ckpt/s, mean MB and MB/s: the checkpoints completed during the phase and the"
                        + " bytes they wrote; min/max MB and duration p50/p99 (ms, trigger to"
                        + " completion): over the job's life, from its REST API; snap CPU:"
                        + " CPU of the asynchronous snapshot threads, JVM CPU: this whole JVM"
                        + " (broker, sites, job), both in % of one core)");

        if (!heaps.isEmpty()) {
            heapTable(heaps, recordBytes);
        }
        for (JobRun j : jobs) {
            if (j.interval().equals(FedStreamOptions.CHECKPOINT_INTERVAL.defaultValue())) {
                System.out.printf(
                        Locale.ROOT,
                        "readable latency at the job's default checkpoint interval (%d ms), %s:"
                                + " p50 %d ms, p99 %d ms over %d rounds (goal: p99 <= 2000 ms);"
                                + " of which commit wait p50 %d ms, p99 %d ms%n",
                        j.interval().toMillis(),
                        j.label(),
                        percentile(j.readableMs(), 50),
                        percentile(j.readableMs(), 99),
                        j.readableMs().size(),
                        percentile(j.commitWaitMs(), 50),
                        percentile(j.commitWaitMs(), 99));
            }
        }
        System.out.printf(
                Locale.ROOT,
                "ratio = best job GB/s at checkpoint interval %d ms (sites back to back until the"
                        + " last version is readable) / broker produce-then-consume GB/s (better"
                        + " of its runs)%n",
                settings.mainInterval().toMillis());
        for (JobRun j : jobs) {
            if (j.interval().equals(settings.mainInterval()) && !j.throughputRunsMs().isEmpty()) {
                System.out.printf(
                        Locale.ROOT,
                        "  %s, each run against that broker figure: %s%n",
                        j.label(),
                        j.throughputRunsMs().stream()
                                .map(
                                        ms ->
                                                String.format(
                                                        Locale.ROOT,
                                                        "%.2f",
                                                        j.throughputBytes()
                                                                / (ms * 1e6)
                                                                / bestBroker))
                                .collect(java.util.stream.Collectors.joining(", ")));
            }
        }
        System.out.printf(Locale.ROOT, "ratio: %.2f (goal >= 0.9)%n", bestJob / bestBroker);
        return 0;
    }

    private void heapTable(List<JobRun> heaps, long recordBytes) {
        System.out.println();
        System.out.printf(
                Locale.ROOT,
                "%-30s %5s %7s %6s | %9s %9s %9s %9s %7s%n",
                "heap after full GC, p=1",
                "q",
                "updates",
                "GB",
                "no job MB",
                "idle MB",
                "max MB",
                "max-idle",
                "samples");
        for (JobRun h : heaps) {
            System.out.printf(
                    Locale.ROOT,
                    "%-30s %5d %7d %6.2f | %9.0f %9.0f %9.0f %9.0f %7d%n",
                    "window " + HEAP_WINDOW,
                    h.quorum(),
                    h.roundMs().size() * (long) h.quorum(),
                    h.roundMs().size() * (long) h.quorum() * recordBytes / 1e9,
                    h.heapBefore() / 1e6,
                    h.heapIdle() / 1e6,
                    h.heapMax() / 1e6,
                    (h.heapMax() - h.heapIdle()) / 1e6,
                    h.heapSamples());
        }
        System.out.printf(
                Locale.ROOT,
                "(heap of this whole JVM: broker, sites, job; sampled every %d ms during the rounds;"
                        + " a site sends when fewer than %d updates are ahead of the job's"
                        + " updatesAccepted; idle = the job running at version 0)%n",
                settings.heapSampleMs(),
                HEAP_WINDOW);
        if (heaps.size() > 1) {
            JobRun lo = heaps.get(0);
            JobRun hi = heaps.get(heaps.size() - 1);
            System.out.printf(
                    Locale.ROOT,
                    "heap max at q=%d / at q=%d: %.2f (goal: flat, about 1)%n",
                    hi.quorum(),
                    lo.quorum(),
                    hi.heapMax() / (double) lo.heapMax());
        }
    }

    private static String seconds(List<Long> ms) {
        return ms.stream()
                .map(t -> String.format(Locale.ROOT, "%.2f s", t / 1e3))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    private static void checkpointRow(JobRun j, String phase, CheckpointCost.Phase c) {
        CheckpointCost.Snapshot life = j.checkpointsAtEnd();
        System.out.printf(
                Locale.ROOT,
                "%-16s %7d %-10s %5d %6.2f | %7.1f %7.1f %7.1f | %7.1f | %7.1f%% %7.1f%% | %8d"
                        + " %8d%n",
                j.label(),
                j.interval().toMillis(),
                phase,
                c.checkpoints(),
                c.checkpointsPerSecond(),
                life.minBytes() / 1e6,
                c.checkpoints() == 0 ? 0 : c.bytes() / 1e6 / c.checkpoints(),
                life.maxBytes() / 1e6,
                c.megabytesPerSecond(),
                c.snapshotCpuPercent(),
                c.processCpuPercent(),
                life.durationP50Ms(),
                life.durationP99Ms());
    }

    private void brokerRows(String when, Broker b) {
        throughputRow(
                "broker (" + when + " the job): produce", b.updates(), b.bytes(), b.produceNanos());
        throughputRow(
                "broker (" + when + " the job): consume", b.updates(), b.bytes(), b.consumeNanos());
        throughputRow(
                "broker (" + when + " the job): produce then consume",
                b.updates(),
                b.bytes(),
                b.produceNanos() + b.consumeNanos());
    }

    private static void throughputRow(String what, long updates, long bytes, long nanos) {
        double s = nanos / 1e9;
        System.out.printf(
                Locale.ROOT,
                "%-52s %8d %7.2f %7.2f %10.1f %7.2f%n",
                what,
                updates,
                bytes / 1e9,
                s,
                updates / s,
                bytes / 1e9 / s);
    }

    private static void latencyRow(JobRun j) {
        System.out.printf(
                Locale.ROOT,
                "%-26s %7d %6d | %8d %8d | %8d %8d | %8d %8d | %8d %8d%n",
                j.label(),
                j.interval().toMillis(),
                j.roundMs().size(),
                percentile(j.roundMs(), 50),
                percentile(j.roundMs(), 99),
                percentile(j.writtenMs(), 50),
                percentile(j.writtenMs(), 99),
                percentile(j.readableMs(), 50),
                percentile(j.readableMs(), 99),
                percentile(j.commitWaitMs(), 50),
                percentile(j.commitWaitMs(), 99));
    }

    /** Nearest-rank percentile (p99 of fewer than 100 values is the largest). */
    static long percentile(List<Long> values, double p) {
        if (values.isEmpty()) {
            return -1;
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int rank = (int) Math.ceil(p / 100 * sorted.size());
        return sorted.get(Math.max(0, rank - 1));
    }

    /** How the sites publish: chunked, as workers do, or one record per update. */
    private UpdatePublisher publisher(String topic) {
        if (settings.wholeRecords()) {
            return new SingleRecordPublisher(
                    kafka.clientProperties(), topic, UPDATE_PARTITIONS, MAX_RECORD_BYTES);
        }
        return new ChunkedPublisher(
                kafka.clientProperties(),
                topic,
                UPDATE_PARTITIONS,
                sites.spec().layout(),
                sites::sign);
    }

    /** Builds, signs and encodes {@code n} updates without sending them. */
    private long sitesAlone(int n) {
        long t = System.nanoTime();
        long bytes = 0;
        for (int i = 0; i < n; i++) {
            AdapterUpdate u = sites.update(i % sites.sites(), 0, "alone/" + i, seq++);
            bytes += AvroCodec.ADAPTER_UPDATE.encode(u).length;
        }
        if (bytes == 0) {
            throw new IllegalStateException("nothing encoded");
        }
        return System.nanoTime() - t;
    }

    /** Produces {@code n} updates to a fresh topic, then consumes them all. */
    private Broker broker(int n, boolean report) throws Exception {
        String topic = "bench-broker-" + (++runs);
        kafka.createTopic(topic, UPDATE_PARTITIONS, updatesTopicConfig());
        try {
            long bytes = 0;
            long records = 0;
            long t = System.nanoTime();
            try (UpdatePublisher pub = publisher(topic)) {
                List<CompletableFuture<UpdatePublisher.Published>> sent = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    sent.add(
                            pub.publish(
                                    sites.update(i % sites.sites(), 0, topic + "/" + i, seq++)));
                }
                pub.flush();
                for (CompletableFuture<UpdatePublisher.Published> f : sent) {
                    bytes += f.join().bytes();
                    records += f.join().records();
                }
            }
            long produce = System.nanoTime() - t;

            Properties p = kafka.clientProperties();
            p.put("isolation.level", "read_committed");
            p.put("max.partition.fetch.bytes", Integer.toString(MAX_RECORD_BYTES));
            p.put("fetch.max.bytes", Integer.toString(MAX_RECORD_BYTES));
            long read = 0;
            long readBytes = 0;
            t = System.nanoTime();
            try (KafkaConsumer<byte[], byte[]> c =
                    new KafkaConsumer<>(
                            p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                List<TopicPartition> tps = new ArrayList<>();
                for (int i = 0; i < UPDATE_PARTITIONS; i++) {
                    tps.add(new TopicPartition(topic, i));
                }
                c.assign(tps);
                c.seekToBeginning(tps);
                long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
                while (read < records) {
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                        read++;
                        readBytes += r.serializedKeySize() + r.serializedValueSize();
                    }
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException(
                                "consumed " + read + " of " + records + " records in 5 minutes");
                    }
                }
            }
            long consume = System.nanoTime() - t;
            if (readBytes != bytes) {
                throw new IllegalStateException(
                        "consumed " + readBytes + " bytes, produced " + bytes);
            }
            return new Broker(n, bytes, produce, consume);
        } finally {
            deleteTopics(topic);
        }
    }

    /**
     * One job run: latency and throughput phases, or ({@code heap}) rounds with the heap sampled,
     * the sites keeping at most {@link #HEAP_WINDOW} updates ahead of the job.
     */
    private JobRun job(int parallelism, int quorum, Duration interval, boolean heap, boolean dp)
            throws Exception {
        String run =
                "p"
                        + parallelism
                        + "-q"
                        + quorum
                        + "-c"
                        + interval.toMillis()
                        + (heap ? "-heap" : "")
                        + (dp ? "-dp" : "")
                        + "-"
                        + (++runs);
        String updates = "bench-" + run + "-updates";
        String global = "bench-" + run + "-global";
        String rejected = "bench-" + run + "-rejected";
        kafka.createTopic(updates, UPDATE_PARTITIONS, updatesTopicConfig());
        kafka.createTopic(
                global, 1, Map.of("max.message.bytes", Integer.toString(MAX_RECORD_BYTES)));
        kafka.createTopic(rejected, 1, Map.of());
        Path dir = Files.createDirectories(work.resolve(run));
        System.err.printf(
                Locale.ROOT,
                "bench e2e: job parallelism %d, quorum %d, checkpoint interval %d ms%s%s...%n",
                parallelism,
                quorum,
                interval.toMillis(),
                heap ? " (heap sampling)" : "",
                dp ? " with central DP" : "");

        FederationSpec spec = dp ? sites.spec().withPrivacy(benchPrivacy(quorum)) : sites.spec();
        Configuration conf =
                jobConfiguration(
                        dir, run, spec, updates, global, rejected, parallelism, quorum, interval);
        String ledger = "bench-" + run + "-ledger";
        if (dp) {
            kafka.createTopic(ledger, 1, Map.of());
            byte[] secret = new byte[32];
            new java.security.SecureRandom().nextBytes(secret);
            Path secretFile = Files.write(dir.resolve("dp.secret"), secret);
            conf.set(FedStreamOptions.PRIVACY_SECRET_FILE, secretFile.toString());
            conf.set(FedStreamOptions.PRIVACY_LEDGER_TOPIC, ledger);
        }
        HeapSampler sampler = new HeapSampler(settings.heapSampleMs());
        long heapBefore = heap ? sampler.sampleNow() : 0;
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(spec), AggregationJob.Io.kafka(conf));
        JobClient job = env.executeAsync(conf.get(FedStreamOptions.JOB_NAME));
        Duration timeout = Duration.ofMinutes(5);
        try (VersionWatcher readable =
                        new VersionWatcher(
                                kafka.clientProperties(),
                                global,
                                rejected,
                                true,
                                MAX_RECORD_BYTES);
                VersionWatcher written =
                        new VersionWatcher(
                                kafka.clientProperties(), global, null, false, MAX_RECORD_BYTES);
                UpdatePublisher pub = publisher(updates);
                CheckpointCost checkpoints = new CheckpointCost(conf, job.getJobID());
                sampler) {
            java.util.function.BooleanSupplier stopped =
                    () -> job.getJobStatus().join().isGloballyTerminalState();
            readable.await(0, timeout, stopped);
            long heapIdle = 0;
            if (heap) {
                heapIdle = sampler.sampleNow();
                sampler.start();
            }

            // latency: closed loop, one round at a time
            CheckpointCost.Snapshot latencyStart = null;
            int warm = heap ? 0 : settings.warmUpRounds();
            int rounds = warm + (heap ? settings.heapRounds(quorum) : settings.latencyRounds());
            List<Long> roundMs = new ArrayList<>();
            List<Long> writtenMs = new ArrayList<>();
            List<Long> readableMs = new ArrayList<>();
            long version = 0;
            long sentInRun = 0;
            for (int r = 0; r < rounds; r++) {
                if (r == warm) {
                    latencyStart = checkpoints.snapshot();
                }
                long first = System.currentTimeMillis();
                List<CompletableFuture<UpdatePublisher.Published>> sent = new ArrayList<>();
                for (int i = 0; i < quorum; i++) {
                    if (heap) {
                        awaitAccepted(sentInRun - HEAP_WINDOW + 1, timeout, stopped);
                    }
                    sentInRun++;
                    String id =
                            "L/v"
                                    + version
                                    + "/"
                                    + BenchSites.siteName(i % sites.sites())
                                    + "/"
                                    + i;
                    sent.add(pub.publish(sites.update(i % sites.sites(), version, id, seq++)));
                }
                Map<String, Long> appended = new HashMap<>();
                for (CompletableFuture<UpdatePublisher.Published> f : sent) {
                    UpdatePublisher.Published p = f.join();
                    appended.put(p.updateId(), p.lastAppendTimeMs());
                }
                VersionWatcher.Seen c = readable.await(version + 1, timeout, stopped);
                VersionWatcher.Seen w = written.await(version + 1, timeout, stopped);
                if (!new HashSet<>(c.updateIds()).equals(appended.keySet())) {
                    throw new IllegalStateException(
                            "version "
                                    + (version + 1)
                                    + " holds "
                                    + c.updateIds()
                                    + ", sent "
                                    + appended.keySet());
                }
                long last = Collections.max(appended.values());
                if (r >= warm) {
                    roundMs.add(c.seenAtMs() - first);
                    writtenMs.add(w.seenAtMs() - last);
                    readableMs.add(c.seenAtMs() - last);
                }
                version++;
            }

            CheckpointCost.Snapshot latencyEnd = checkpoints.snapshot();

            // the read_uncommitted watcher only serves the latency rows: closed so that the
            // throughput runs do not also pay for a bench-only consumer of every version
            written.close();

            // throughput: open loop, the sites publish back to back from the newest version seen;
            // repeated, the best run counts (see Settings.throughputRuns)
            long tpUpdates = heap ? 0 : settings.throughputUpdates();
            long tpBytes = 0;
            long tpMs = Long.MAX_VALUE;
            long sendMs = 0;
            List<Long> tpRuns = new ArrayList<>();
            for (int attempt = 0; tpUpdates > 0 && attempt < settings.throughputRuns(); attempt++) {
                long start = System.currentTimeMillis();
                List<CompletableFuture<UpdatePublisher.Published>> sent = new ArrayList<>();
                for (int i = 0; i < tpUpdates; i++) {
                    long base = readable.latest();
                    String id = "T" + attempt + "/" + i;
                    sent.add(pub.publish(sites.update(i % sites.sites(), base, id, seq++)));
                }
                long target = version + tpUpdates / quorum;
                VersionWatcher.Seen end = readable.await(target, timeout, stopped);
                long ms = end.seenAtMs() - start;
                long bytes = 0;
                long lastAppend = 0;
                Set<String> ids = new HashSet<>();
                for (CompletableFuture<UpdatePublisher.Published> f : sent) {
                    bytes += f.join().bytes();
                    ids.add(f.join().updateId());
                    lastAppend = Math.max(lastAppend, f.join().lastAppendTimeMs() - start);
                }
                for (long v = version + 1; v <= target; v++) {
                    ids.removeAll(readable.await(v, timeout, stopped).updateIds());
                }
                if (!ids.isEmpty()) {
                    throw new IllegalStateException(
                            ids.size() + " updates missing from the versions");
                }
                version = target;
                tpRuns.add(ms);
                if (ms < tpMs) {
                    tpMs = ms;
                    tpBytes = bytes;
                    sendMs = lastAppend;
                }
            }
            if (tpRuns.isEmpty()) {
                tpMs = 0;
            }
            CheckpointCost.Snapshot end = checkpoints.snapshot();
            sampler.close();
            return new JobRun(
                    parallelism,
                    quorum,
                    dp,
                    interval,
                    heap,
                    roundMs,
                    writtenMs,
                    readableMs,
                    tpUpdates,
                    tpBytes,
                    tpMs,
                    sendMs,
                    tpRuns,
                    heapBefore,
                    heapIdle,
                    sampler.max(),
                    sampler.samples(),
                    latencyEnd.since(latencyStart),
                    tpRuns.isEmpty() ? null : end.since(latencyEnd),
                    end);
        } finally {
            if (!job.getJobStatus().join().isGloballyTerminalState()) {
                job.cancel().get();
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                try {
                    if (job.getJobStatus().get().isGloballyTerminalState()) {
                        break;
                    }
                } catch (Exception e) {
                    break; // the per-job MiniCluster is gone
                }
                Thread.sleep(100);
            }
            deleteTopics(
                    dp
                            ? new String[] {updates, global, rejected, ledger}
                            : new String[] {updates, global, rejected});
            deleteRecursively(dir);
        }
    }

    private static void awaitAccepted(
            long count, Duration timeout, java.util.function.BooleanSupplier stopped)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (AcceptedUpdates.count() < count) {
            if (stopped.getAsBoolean() || System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "the job accepted "
                                + AcceptedUpdates.count()
                                + " updates, waiting for "
                                + count);
            }
            Thread.sleep(1);
        }
    }

    private Configuration jobConfiguration(
            Path dir,
            String run,
            FederationSpec spec,
            String updates,
            String global,
            String rejected,
            int parallelism,
            int quorum,
            Duration interval)
            throws IOException {
        Path federations = dir.resolve("federations.json");
        FederationSpec.writeAll(federations, List.of(spec));
        Configuration conf = new Configuration();
        if (sites.signed()) {
            Path keys = dir.resolve("site-keys.json");
            sites.registry().write(keys);
            conf.set(FedStreamOptions.SITE_KEYS_FILE, keys.toString());
        }
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(FedStreamOptions.UPDATES_TOPIC, updates);
        conf.set(FedStreamOptions.GLOBAL_MODELS_TOPIC, global);
        conf.set(FedStreamOptions.REJECTED_TOPIC, rejected);
        conf.set(FedStreamOptions.CONSUMER_GROUP, "bench-" + run);
        conf.set(FedStreamOptions.TRANSACTIONAL_ID_PREFIX, "bench-" + run);
        conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(10));
        conf.set(FedStreamOptions.MAX_RECORD_SIZE, new MemorySize(MAX_RECORD_BYTES));
        conf.set(FedStreamOptions.FEDERATIONS_FILE, federations.toString());
        conf.set(FedStreamOptions.ROUND_QUORUM, quorum);
        conf.set(FedStreamOptions.ROUND_MIN_UPDATES, quorum);
        conf.set(FedStreamOptions.ROUND_TIMEOUT, Duration.ofHours(1)); // rounds close at quorum
        // the open loop builds updates from the newest readable version; the job may be many
        // versions further when it reads them
        conf.set(FedStreamOptions.STALENESS_MAX, 1_000_000L);
        conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, interval);
        conf.set(FedStreamOptions.PARALLELISM, parallelism);
        conf.set(FedStreamOptions.JOB_NAME, "fedstream-bench-" + run);
        // the round state (a 16.8 MB model and its float64 sums) is far over the 5 MB limit of
        // checkpoints kept in the JobManager's memory
        conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        conf.set(
                CheckpointingOptions.CHECKPOINTS_DIRECTORY,
                dir.resolve("checkpoints").toUri().toString());
        AcceptedUpdates.enable(conf);
        CheckpointCost.enable(conf);
        return conf;
    }

    private static Map<String, String> updatesTopicConfig() {
        return Map.of(
                "max.message.bytes",
                Integer.toString(MAX_RECORD_BYTES),
                "message.timestamp.type",
                "LogAppendTime");
    }

    private void deleteTopics(String... names) {
        try (Admin admin = kafka.createAdmin()) {
            admin.deleteTopics(List.of(names)).all().get();
        } catch (Exception e) {
            System.err.println("bench e2e: could not delete topics " + List.of(names) + ": " + e);
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        // files may still vanish under us (Flink discarding a checkpoint while it stops)
        Files.walkFileTree(
                dir,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                            throws IOException {
                        Files.deleteIfExists(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path file, IOException e)
                            throws IOException {
                        if (e instanceof java.nio.file.NoSuchFileException) {
                            return FileVisitResult.CONTINUE;
                        }
                        throw e;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path d, IOException e)
                            throws IOException {
                        Files.deleteIfExists(d);
                        return FileVisitResult.CONTINUE;
                    }
                });
    }
}
