package io.fedstream.cli;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.AggregationJob;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.schemas.AvroCodec;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.GlobalModelAssembler;
import io.fedstream.schemas.SiteKeys;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.Topics;
import io.fedstream.schemas.avro.GlobalModel;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.Worker;
import io.fedstream.worker.WorkerConfig;
import io.fedstream.worker.WorkerListener;
import io.fedstream.worker.train.LoraMlpEvaluator;
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
final class LocalFederation implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalFederation.class);
    static final int MAX_RECORD_BYTES = 64 << 20;

    /** How to run. {@code slowdown} is the extra time per round of each further site. */
    record Settings(
            int sites,
            long seed,
            double alpha,
            int quorum,
            Duration roundTimeout,
            Duration checkpointInterval,
            Duration slowdown,
            int parallelism) {}

    private final EmbeddedKafka kafka;
    private final Settings settings;
    private final DemoFederation demo;
    private FederationSpec spec;
    private Path privacySecretFile;
    private WorkerListener workerListener = WorkerListener.NONE;
    private final List<KeyPair> siteKeys = new ArrayList<>();
    private final List<VersionRow> rows = new CopyOnWriteArrayList<>();
    private final List<Worker> workers = new ArrayList<>();
    private final List<SiteTrainer> trainers = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private JobClient job;
    private volatile boolean monitoring = true;
    private volatile KafkaConsumer<byte[], byte[]> monitorConsumer;
    private Thread monitor;

    LocalFederation(EmbeddedKafka kafka, Settings settings) {
        this.kafka = kafka;
        this.settings = settings;
        this.demo =
                DemoFederation.create("demo", settings.seed(), settings.sites(), settings.alpha());
        this.spec = demo.spec();
        for (int i = 0; i < settings.sites(); i++) {
            siteKeys.add(SiteKeys.generate());
        }
    }

    private static String keyId(int site) {
        return DemoFederation.siteName(site) + "-key-1";
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
    LocalFederation withPrivacy(io.fedstream.schemas.PrivacySpec privacy, Path secretFile) {
        this.spec = spec.withPrivacy(privacy);
        this.privacySecretFile = secretFile;
        return this;
    }

    /** Told of every update a site publishes. Call before {@link #start}. */
    LocalFederation withWorkerListener(WorkerListener listener) {
        this.workerListener = listener;
        return this;
    }

    /**
     * The job's configuration for this run; writes the federation spec ({@code federations.json})
     * and the sites' public keys ({@code site-keys.json}) into {@code dir}.
     */
    Configuration jobConfiguration(Path dir) throws java.io.IOException {
        Files.createDirectories(dir);
        Path federationsFile = dir.resolve("federations.json");
        FederationSpec.writeAll(federationsFile, List.of(spec));
        Map<String, List<SiteKeys.Entry>> registry = new java.util.LinkedHashMap<>();
        for (int i = 0; i < siteKeys.size(); i++) {
            registry.put(
                    DemoFederation.siteName(i),
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
    void start(StreamExecutionEnvironment env, Configuration conf, Consumer<VersionRow> onVersion)
            throws Exception {
        createTopics(kafka);
        AggregationJob.configureEnvironment(env, conf);
        AggregationJob.build(env, conf, List.of(spec), AggregationJob.Io.kafka(conf));
        job = env.executeAsync(conf.get(FedStreamOptions.JOB_NAME));
        LOG.info("aggregation job {} submitted", job.getJobID());

        LoraMlpEvaluator evaluator = demo.globalEvaluator();
        monitor = new Thread(() -> monitor(evaluator, onVersion), "version-monitor");
        monitor.setDaemon(true);
        monitor.start();

        for (int i = 0; i < settings.sites(); i++) {
            SiteTrainer trainer = demo.trainer(i);
            trainers.add(trainer);
            WorkerConfig wc =
                    WorkerConfig.defaults(
                                    kafka.bootstrapServers(), spec.id(), DemoFederation.siteName(i))
                            .withPause(settings.slowdown().multipliedBy(i))
                            .withSigningKey(keyId(i), siteKeys.get(i).getPrivate());
            Worker w = new Worker(wc, trainer, workerListener, settings.seed());
            workers.add(w);
            Thread t = new Thread(w, "worker-" + wc.siteId());
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void monitor(LoraMlpEvaluator evaluator, Consumer<VersionRow> onVersion) {
        AvroCodec.trustGeneratedClasses();
        java.util.Properties p = kafka.clientProperties();
        p.put("isolation.level", "read_committed");
        p.put("max.partition.fetch.bytes", Integer.toString(MAX_RECORD_BYTES));
        p.put("fetch.max.bytes", Integer.toString(MAX_RECORD_BYTES));
        try (evaluator;
                KafkaConsumer<byte[], byte[]> c =
                        new KafkaConsumer<>(
                                p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            monitorConsumer = c;
            TopicPartition tp = new TopicPartition(Topics.GLOBAL_MODELS, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            GlobalModelAssembler assembler = new GlobalModelAssembler();
            while (monitoring) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    for (GlobalModel g : assembler.accept(r.value())) {
                        SiteTrainer.EvalResult e =
                                evaluator.evaluate(TensorCodec.toMap(g.getTensors()));
                        VersionRow row = VersionRow.of(g, e.loss(), e.accuracy());
                        rows.add(row);
                        onVersion.accept(row);
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

    /** Versions seen so far, in order. */
    List<VersionRow> rows() {
        return List.copyOf(rows);
    }

    /**
     * Blocks until version {@code versions} is published (true), {@code stop} says so (false), or a
     * part failed (exception).
     */
    boolean awaitVersions(long versions, Duration timeout, java.util.function.BooleanSupplier stop)
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

    /** Writes versions.csv and accuracy.png into {@code out}. */
    void writeReport(Path out) throws Exception {
        Files.createDirectories(out);
        List<VersionRow> r = rows();
        Report.writeCsv(out.resolve("versions.csv"), r);
        Report.writeChart(
                out.resolve("accuracy.png"),
                r,
                "FedStream local run: "
                        + settings.sites()
                        + " sites, quorum "
                        + settings.quorum()
                        + ", seed "
                        + settings.seed());
    }

    @Override
    public void close() throws Exception {
        for (Worker w : workers) {
            w.close();
        }
        for (Thread t : threads) {
            t.join(10_000);
        }
        for (SiteTrainer t : trainers) {
            t.close();
        }
        monitoring = false;
        KafkaConsumer<byte[], byte[]> c = monitorConsumer;
        if (c != null) {
            c.wakeup();
        }
        if (monitor != null) {
            monitor.join(10_000);
        }
        if (job != null && !job.getJobStatus().join().isGloballyTerminalState()) {
            job.cancel().get();
        }
    }
}
