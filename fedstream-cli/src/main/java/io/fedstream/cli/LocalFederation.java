package io.fedstream.cli;

import io.fedstream.aggregation.privacy.RdpAccountant;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.adapter.AggregationJob;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.Worker;
import io.fedstream.worker.WorkerConfig;
import io.fedstream.worker.WorkerListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole federation in one process: the aggregation job on a given Flink environment, several site
 * workers with real DJL training, and a monitor that evaluates every global version on a held-out
 * set no site trains on. Kafka is supplied by the caller (an {@link EmbeddedKafka} for {@code
 * ./fedstream local} and the tests).
 */
public final class LocalFederation implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalFederation.class);
    static final int MAX_RECORD_BYTES = 64 << 20;

    /** How to run. {@code slowdown} is the extra time per round of each further site. */
    public record Settings(
            int sites,
            long seed,
            double alpha,
            int quorum,
            Duration roundTimeout,
            Duration checkpointInterval,
            Duration slowdown,
            int parallelism) {}

    static final String FEDERATION = "demo";

    private final EmbeddedKafka kafka;
    private final Settings settings;
    private final LocalTask task;
    private final boolean ownsTask;
    private FederationSpec spec;
    private volatile LocalTask.Score baseline;
    private SiteProgress progress;
    private volatile boolean scoreBehind;
    private Path privacySecretFile;
    private WorkerListener workerListener = WorkerListener.NONE;
    private final List<KeyPair> siteKeys = new ArrayList<>();
    private final List<VersionRow> rows = new CopyOnWriteArrayList<>();
    private final List<Worker> workers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private JobClient job;
    private volatile boolean monitoring = true;
    private volatile KafkaConsumer<byte[], byte[]> monitorConsumer;
    private Thread monitor;

    /** The demo task (the MLP on generated data) with {@code settings}' sites and α. */
    public LocalFederation(EmbeddedKafka kafka, Settings settings) {
        this(
                kafka,
                settings,
                new MlpLocalTask(FEDERATION, settings.seed(), settings.sites(), settings.alpha()),
                true);
    }

    /** {@code task}'s sites; {@code ownsTask}: {@link #close()} closes it. */
    public LocalFederation(
            EmbeddedKafka kafka, Settings settings, LocalTask task, boolean ownsTask) {
        this.kafka = kafka;
        this.settings = settings;
        this.task = task;
        this.ownsTask = ownsTask;
        this.spec = task.spec(FEDERATION, settings.seed());
        for (int i = 0; i < task.siteIds().size(); i++) {
            siteKeys.add(SiteKeys.generate());
        }
    }

    private String siteId(int site) {
        return task.siteIds().get(site);
    }

    private String keyId(int site) {
        return siteId(site) + "-key-1";
    }

    LocalTask task() {
        return task;
    }

    /**
     * Sets the site-alone baseline every version is compared with (before {@link #start}); without
     * it the baseline columns are NaN.
     */
    void baseline(LocalTask.Score score) {
        this.baseline = score;
    }

    LocalTask.Score baseline() {
        return baseline;
    }

    /**
     * For runs that measure the metric against time (before {@link #start}): the monitor records
     * when each version became readable and a separate thread scores them, so a slow score (the
     * sites train on the same CPU and model) never delays the reading. Of versions read more than
     * one per second, the scorer skips the ones in between (it scores the first and the last of
     * every batch it takes); {@link #close()} waits until every version it keeps is scored.
     */
    public void scoreBehindReads() {
        this.scoreBehind = true;
    }

    /** Reports every site's sends to {@code p} (before {@link #start}). */
    void progress(SiteProgress p) {
        this.progress = p;
    }

    /**
     * Creates the topics (if missing) with Kafka's default record limits: updates and versions
     * travel in chunks of at most 512 KiB.
     */
    static void createTopics(EmbeddedKafka kafka) {
        kafka.createTopic(Topics.ADAPTER_UPDATES, 2, Map.of());
        kafka.createTopic(Topics.GLOBAL_MODELS, 1, Map.of());
        kafka.createTopic(Topics.REJECTED_UPDATES, 1, Map.of());
        kafka.createTopic(Topics.PRIVACY_LEDGER, 1, Map.of());
        kafka.createTopic(Topics.PROMPT_UPDATES, 2, Map.of());
        kafka.createTopic(Topics.GLOBAL_PROMPTS, 1, Map.of());
    }

    FederationSpec spec() {
        return spec;
    }

    /**
     * Central DP for the run's federation: its spec gets {@code privacy} and the job the secret in
     * {@code secretFile}. Call before {@link #jobConfiguration}.
     */
    public LocalFederation withPrivacy(PrivacySpec privacy, Path secretFile) {
        this.spec = spec.withPrivacy(privacy);
        this.privacySecretFile = secretFile;
        return this;
    }

    /**
     * Central DP planned for a budget: the noise multiplier is the smallest that keeps a site
     * contributing to each of {@code versions} versions within {@code epsilon} at {@code delta}
     * ({@link RdpAccountant#sigmaFor}, sampling rate 1), the budget is {@code epsilon} (the job
     * refuses updates beyond it: {@code BUDGET_EXHAUSTED}), the divisor the quorum, and a fresh
     * random job secret is written to {@code secretFile}. Call before {@link #jobConfiguration}.
     *
     * @return the spec's privacy object
     */
    public PrivacySpec withPrivacyBudget(
            double epsilon, double delta, double clipNorm, long versions, Path secretFile)
            throws java.io.IOException {
        double sigma = RdpAccountant.sigmaFor(epsilon, delta, versions, 1.0);
        PrivacySpec privacy = new PrivacySpec(clipNorm, sigma, delta, epsilon, settings.quorum());
        byte[] secret = new byte[32];
        new java.security.SecureRandom().nextBytes(secret);
        Files.createDirectories(secretFile.toAbsolutePath().getParent());
        Files.write(secretFile, secret);
        withPrivacy(privacy, secretFile);
        return privacy;
    }

    /**
     * The update encoding of the run's federation: its spec gets {@code encoding} and every site
     * encodes with it. Call before {@link #jobConfiguration}.
     */
    public LocalFederation withEncoding(io.fedstream.schemas.UpdateEncoding encoding) {
        this.spec = spec.withEncoding(encoding);
        return this;
    }

    /** Told of every update a site publishes. Call before {@link #start}. */
    public LocalFederation withWorkerListener(WorkerListener listener) {
        this.workerListener = listener;
        return this;
    }

    /**
     * The job's configuration for this run; writes the federation spec ({@code federations.json})
     * and the sites' public keys ({@code site-keys.json}) into {@code dir}.
     */
    public Configuration jobConfiguration(Path dir) throws java.io.IOException {
        Files.createDirectories(dir);
        Path federationsFile = dir.resolve("federations.json");
        FederationSpec.writeAll(federationsFile, List.of(spec));
        Map<String, List<SiteKeys.Entry>> registry = new java.util.LinkedHashMap<>();
        for (int i = 0; i < siteKeys.size(); i++) {
            registry.put(
                    siteId(i),
                    List.of(
                            new SiteKeys.Entry(
                                    keyId(i), SiteKeys.encode(siteKeys.get(i).getPublic()))));
        }
        Path keysFile = dir.resolve("site-keys.json");
        new SiteKeys(registry).write(keysFile);
        Configuration conf = new Configuration();
        conf.set(FedStreamOptions.SITE_KEYS_FILE, keysFile.toString());
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(FedStreamOptions.FEDERATIONS_FILE, federationsFile.toString());
        conf.set(FedStreamOptions.ROUND_QUORUM, settings.quorum());
        conf.set(FedStreamOptions.ROUND_MIN_UPDATES, 1);
        conf.set(FedStreamOptions.ROUND_TIMEOUT, settings.roundTimeout());
        conf.set(FedStreamOptions.CHECKPOINT_INTERVAL, settings.checkpointInterval());
        conf.set(FedStreamOptions.PARALLELISM, settings.parallelism());
        conf.set(FedStreamOptions.TRANSACTION_TIMEOUT, Duration.ofMinutes(10));
        if (privacySecretFile != null) {
            conf.set(FedStreamOptions.PRIVACY_SECRET_FILE, privacySecretFile.toString());
        }
        return conf;
    }

    /**
     * Starts the job on {@code env} (configured by {@link #jobConfiguration}), the monitor and the
     * workers.
     */
    public void start(
            StreamExecutionEnvironment env, Configuration conf, Consumer<VersionRow> onVersion)
            throws Exception {
        createTopics(kafka);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(spec), AggregationJob.Io.kafka(conf));
        job = env.executeAsync(conf.get(FedStreamOptions.JOB_NAME));
        LOG.info("aggregation job {} submitted", job.getJobID());

        if (scoreBehind) {
            scorer = new Thread(() -> score(onVersion), "version-scorer");
            scorer.setDaemon(true);
            scorer.start();
        }
        monitor = new Thread(() -> monitor(onVersion), "version-monitor");
        monitor.setDaemon(true);
        monitor.start();

        for (int i = 0; i < task.siteIds().size(); i++) {
            SiteTrainer trainer = task.trainer(i);
            WorkerConfig wc =
                    WorkerConfig.defaults(kafka.bootstrapServers(), spec.id(), siteId(i))
                            .withPause(settings.slowdown().multipliedBy(i))
                            .withSigningKey(keyId(i), siteKeys.get(i).getPrivate());
            WorkerListener listener =
                    progress == null ? workerListener : both(progress.listener(i), workerListener);
            Worker w =
                    new Worker(wc, trainer, listener, settings.seed())
                            .withEncoding(spec.encoding());
            workers.add(w);
            Thread t = new Thread(w, "worker-" + wc.siteId());
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void monitor(Consumer<VersionRow> onVersion) {
        AvroCodec.trustGeneratedClasses();
        java.util.Properties p = kafka.clientProperties();
        p.put("isolation.level", "read_committed");
        p.put("max.partition.fetch.bytes", Integer.toString(MAX_RECORD_BYTES));
        p.put("fetch.max.bytes", Integer.toString(MAX_RECORD_BYTES));
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            monitorConsumer = c;
            TopicPartition tp = new TopicPartition(Topics.GLOBAL_MODELS, 0);
            boolean dp = privacySecretFile != null;
            TopicPartition ledgerTp = new TopicPartition(Topics.PRIVACY_LEDGER, 0);
            List<TopicPartition> read = dp ? List.of(tp, ledgerTp) : List.of(tp);
            c.assign(read);
            c.seekToBeginning(read);
            GlobalModelAssembler assembler = new GlobalModelAssembler();
            byte[] key = spec.id().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            PrivacyLedgers.LargestSpend largest = new PrivacyLedgers.LargestSpend();
            Map<Long, Double> spent = new java.util.HashMap<>(Map.of(0L, 0.0));
            // with DP a version waits for its ledger record (written with it, at the same
            // checkpoint) so that its row carries what the sites had spent
            List<Seen> waiting = new ArrayList<>();
            while (monitoring) {
                var polled = c.poll(Duration.ofMillis(200));
                long seenAtMs = System.currentTimeMillis();
                for (ConsumerRecord<byte[], byte[]> r : polled) {
                    if (r.topic().equals(Topics.PRIVACY_LEDGER)) {
                        if (r.key() != null && java.util.Arrays.equals(r.key(), key)) {
                            PrivacyLedger l = AvroCodec.PRIVACY_LEDGER.decode(r.value());
                            spent.put(l.getVersion(), largest.add(l));
                        }
                    } else {
                        for (GlobalModel g : assembler.accept(r.value())) {
                            waiting.add(new Seen(g, seenAtMs, Double.NaN));
                        }
                    }
                }
                List<Seen> ready = new ArrayList<>();
                for (java.util.Iterator<Seen> it = waiting.iterator(); it.hasNext(); ) {
                    Seen s = it.next();
                    Double eps = spent.get(s.version().getVersion());
                    if (dp && eps == null) {
                        break; // versions stay in order
                    }
                    ready.add(new Seen(s.version(), s.seenAtMs(), dp ? eps : Double.NaN));
                    it.remove();
                }
                for (Seen s : ready) {
                    if (scoreBehind) {
                        toScore.add(s);
                    } else {
                        emit(s, onVersion);
                    }
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (Exception e) {
            LOG.error("version monitor failed", e);
        } finally {
            monitorConsumer = null;
        }
    }

    /** A version read from Kafka, when, and the ε spent up to it (NaN without DP). */
    private record Seen(GlobalModel version, long seenAtMs, double epsilon) {}

    private final java.util.concurrent.BlockingQueue<Seen> toScore =
            new java.util.concurrent.LinkedBlockingQueue<>();
    private static final Seen END = new Seen(null, 0, Double.NaN);
    private Thread scorer;

    private void emit(Seen s, Consumer<VersionRow> onVersion) {
        GlobalModel g = s.version();
        LocalTask.Score score = task.score(TensorCodec.toMap(g.getTensors()));
        LocalTask.Score b = baseline;
        VersionRow row =
                VersionRow.of(
                        g, score, b == null ? Double.NaN : b.metric(), s.seenAtMs(), s.epsilon());
        rows.add(row);
        onVersion.accept(row);
    }

    private void score(Consumer<VersionRow> onVersion) {
        long lastScored = Long.MIN_VALUE;
        try {
            while (true) {
                List<Seen> batch = new ArrayList<>();
                batch.add(toScore.take());
                toScore.drainTo(batch);
                for (int i = 0; i < batch.size(); i++) {
                    Seen s = batch.get(i);
                    if (s == END) {
                        return;
                    }
                    boolean last = i == batch.size() - 1 || batch.get(i + 1) == END;
                    if (i == 0 || last || s.seenAtMs() >= lastScored + 1000) {
                        emit(s, onVersion);
                        lastScored = s.seenAtMs();
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("version scorer failed", e);
        }
    }

    /** Both listeners, in order. */
    private static WorkerListener both(WorkerListener a, WorkerListener b) {
        return new WorkerListener() {
            @Override
            public void onGlobalVersion(
                    String siteId,
                    io.fedstream.schemas.avro.GlobalModel model,
                    io.fedstream.worker.SiteTrainer.EvalResult eval) {
                a.onGlobalVersion(siteId, model, eval);
                b.onGlobalVersion(siteId, model, eval);
            }

            @Override
            public void onUpdatePublished(
                    io.fedstream.schemas.avro.AdapterUpdate update,
                    io.fedstream.worker.SiteTrainer.TrainResult result) {
                a.onUpdatePublished(update, result);
                b.onUpdatePublished(update, result);
            }

            @Override
            public void onRejected(
                    String siteId, io.fedstream.schemas.avro.RejectedUpdate rejection) {
                a.onRejected(siteId, rejection);
                b.onRejected(siteId, rejection);
            }

            @Override
            public void onStopped(String siteId, int published, Throwable failure) {
                a.onStopped(siteId, published, failure);
                b.onStopped(siteId, published, failure);
            }
        };
    }

    /** Versions seen so far, in order. */
    public List<VersionRow> rows() {
        return List.copyOf(rows);
    }

    /**
     * Blocks until version {@code versions} is published (true), {@code stop} says so (false), or a
     * part failed (exception).
     */
    public boolean awaitVersions(
            long versions, Duration timeout, java.util.function.BooleanSupplier stop)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (rows.stream().mapToLong(VersionRow::version).max().orElse(-1) < versions) {
            if (stop.getAsBoolean()) {
                return false;
            }
            for (Worker w : workers) {
                if (w.failure() != null) {
                    throw new IllegalStateException("a worker failed", w.failure());
                }
            }
            if (job.getJobStatus().join().isGloballyTerminalState()) {
                throw new IllegalStateException(
                        "the aggregation job stopped: " + job.getJobStatus().join());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no version " + versions + " after " + timeout);
            }
            Thread.sleep(200);
        }
        return true;
    }

    /** Writes versions.csv and metric.png into {@code out}. */
    void writeReport(Path out) throws Exception {
        Files.createDirectories(out);
        List<VersionRow> r = rows();
        Report.writeCsv(out.resolve("versions.csv"), task.siteIds(), r);
        Report.writeChart(
                out.resolve("metric.png"),
                "FedStream local run: "
                        + task.siteIds().size()
                        + " sites, quorum "
                        + settings.quorum()
                        + ", seed "
                        + settings.seed(),
                task.metricName(),
                task.siteIds(),
                r,
                baseline);
        ReportCommand.writeFromKafka(
                kafka.bootstrapServers(),
                spec.id(),
                r.stream()
                        .collect(
                                java.util.stream.Collectors.toMap(
                                        VersionRow::version, VersionRow::metric, (a, b) -> a)),
                "held-out " + task.metricName(),
                "FedStream local run: "
                        + task.siteIds().size()
                        + " sites, quorum "
                        + settings.quorum(),
                out);
    }

    @Override
    public void close() throws Exception {
        // every worker at once: each waits for its loop (a training, a delay) to end
        List<Thread> closing = new ArrayList<>();
        for (Worker w : workers) {
            Thread t = new Thread(w::close, "close-worker");
            t.start();
            closing.add(t);
        }
        for (Thread t : closing) {
            t.join();
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        monitoring = false;
        KafkaConsumer<byte[], byte[]> c = monitorConsumer;
        if (c != null) {
            c.wakeup();
        }
        if (monitor != null) {
            monitor.join(); // a score in progress ends before the task may be closed
        }
        if (scorer != null) {
            toScore.add(END);
            scorer.join();
        }
        if (job != null && !job.getJobStatus().join().isGloballyTerminalState()) {
            job.cancel().get();
        }
        if (ownsTask) {
            task.close();
        }
    }
}
