package io.fedstream.lab.experiment;

import io.fedstream.cli.LocalFederation;
import io.fedstream.cli.LocalTask;
import io.fedstream.cli.LocalTasks;
import io.fedstream.cli.RetrievalLocalTask;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.lab.options.OutOption;
import io.fedstream.lab.options.QuickOption;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.SiteTrainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream experiment async}: what asynchronous rounds buy, measured through the real
 * system. Every run starts a broker, the aggregation job (its own round rules, configured per
 * method) and one worker per MedQuAD site as {@code ./fedstream local} does, with the sites slowed
 * by a seeded heavy-tailed delay per round ({@link SiteDelays}); the global adapter's held-out
 * metric is recorded against the wall-clock time its version became readable.
 */
@Command(
        name = "async",
        mixinStandardHelpOptions = true,
        description = {
            "Synchronous FedAvg (quorum = sites) against buffered asynchronous (FedBuff: quorum K"
                    + " < sites, staleness discount, server learning rate) and fully asynchronous"
                    + " (FedAsync: quorum 1) rounds, run by the real job with real workers on"
                    + " MedQuAD retrieval, sites slowed by seeded lognormal delays. Prints the"
                    + " metric against wall-clock time, the time each method needs to reach the"
                    + " synchronous run's final metric, and last 'speedup: X'; writes async.md,"
                    + " async.csv and async.png to --out. --quick: one seed, 40 s per method."
        })
final class AsyncExperimentCommand implements Callable<Integer> {

    @Mixin OutOption outOption;

    @Mixin QuickOption quickOption;

    @Option(
            names = "--sites",
            defaultValue = "9",
            description = "Sites, MedQuAD's websites (default ${DEFAULT-VALUE}).")
    int sites;

    @Option(
            names = "--seeds",
            defaultValue = "1,2,3",
            split = ",",
            description = "Seeds, one run of every method each (default ${DEFAULT-VALUE}).")
    List<Long> seeds;

    @Option(
            names = "--budget",
            defaultValue = "PT90S",
            description = "Wall-clock time of each run (default ${DEFAULT-VALUE}).")
    Duration budget;

    @Option(
            names = "--median-delay",
            defaultValue = "PT2S",
            description = "Median delay of a site's round (default ${DEFAULT-VALUE}).")
    Duration medianDelay;

    @Option(
            names = "--spread",
            defaultValue = "10",
            description =
                    "Slowest site's median delay over the fastest's (default ${DEFAULT-VALUE}).")
    double spread;

    @Option(
            names = "--jitter",
            defaultValue = "0.5",
            description =
                    "Lognormal sigma of a round's delay around its site's median (default"
                            + " ${DEFAULT-VALUE}).")
    double jitter;

    @Option(
            names = "--methods",
            defaultValue = "sync,fedbuff,fedasync",
            split = ",",
            description = "Of sync, fedbuff, fedasync (default ${DEFAULT-VALUE}).")
    List<String> methods;

    @Option(
            names = "--fedbuff-quorum",
            description = "FedBuff's K (default: a third of the sites, at least 2).")
    Integer fedbuffQuorum;

    @Option(
            names = "--server-lr",
            defaultValue = "1.0",
            description =
                    "Server learning rate of the asynchronous methods (default ${DEFAULT-VALUE}).")
    double serverLr;

    @Option(
            names = "--staleness",
            defaultValue = "polynomial",
            description =
                    "Staleness function of the asynchronous methods (constant, polynomial, hinge;"
                            + " default ${DEFAULT-VALUE}).")
    String staleness;

    @Option(
            names = "--staleness-a",
            defaultValue = "0.5",
            description =
                    "Parameter a of the staleness function (fedstream.staleness.a; default"
                            + " ${DEFAULT-VALUE}).")
    double stalenessA;

    @Option(
            names = "--max-staleness",
            defaultValue = "10",
            description =
                    "Updates staler than this are rejected (fedstream.staleness.max; default"
                            + " ${DEFAULT-VALUE}).")
    long maxStaleness;

    @Option(
            names = "--normalization",
            defaultValue = "EXAMPLES",
            description =
                    "Denominator of the asynchronous methods' average: WEIGHTS or EXAMPLES"
                            + " (fedstream.staleness.normalization; default ${DEFAULT-VALUE}).")
    FedStreamOptions.Normalization normalization;

    @Option(
            names = "--train-per-site",
            defaultValue = "32",
            description = "Training questions per site (default ${DEFAULT-VALUE}).")
    int trainPerSite;

    @Option(
            names = "--local-epochs",
            defaultValue = "2",
            description = "Local epochs per update, every method (default ${DEFAULT-VALUE}).")
    int localEpochs;

    @Option(
            names = "--lr",
            defaultValue = "3e-3",
            description = "Sites' Adam learning rate (default ${DEFAULT-VALUE}).")
    double lr;

    /** One method's configuration of the job. */
    record Method(
            String name,
            int quorum,
            double serverLr,
            String staleness,
            FedStreamOptions.Normalization normalization) {}

    /** A version as it became readable: seconds since the workers started, and its metric. */
    record Point(double seconds, long version, double metric, double meanStaleness) {}

    /** One run of one method with one seed. */
    record Run(Method method, long seed, List<Point> points, long updates) {
        double finalMetric() {
            return points.isEmpty() ? Double.NaN : points.get(points.size() - 1).metric();
        }

        /** The first time the metric reached {@code target}, or NaN. */
        double timeTo(double target) {
            for (Point p : points) {
                if (p.metric() >= target - 1e-12) {
                    return p.seconds();
                }
            }
            return Double.NaN;
        }
    }

    @Override
    public Integer call() throws Exception {
        Path out = outOption.out();
        if (quickOption.quick()) {
            seeds = List.of(seeds.get(0));
            budget = Duration.ofSeconds(40);
        }
        int k = fedbuffQuorum != null ? fedbuffQuorum : Math.max(2, sites / 3);
        List<Method> ms = new ArrayList<>();
        for (String m : methods) {
            ms.add(
                    switch (m.strip()) {
                        case "sync" ->
                                new Method(
                                        "sync",
                                        sites,
                                        1.0,
                                        "constant",
                                        FedStreamOptions.Normalization.WEIGHTS);
                        case "fedbuff" ->
                                new Method("fedbuff", k, serverLr, staleness, normalization);
                        case "fedasync" ->
                                new Method("fedasync", 1, serverLr, staleness, normalization);
                        default ->
                                throw new IllegalArgumentException(
                                        "--methods: unknown method "
                                                + m
                                                + " (sync, fedbuff, fedasync)");
                    });
        }
        Files.createDirectories(out);
        System.out.printf(
                Locale.ROOT,
                "async experiment: %d sites, seeds %s, %s per run, delays median %s spread %.0fx"
                        + " jitter %.2f; methods %s%n",
                sites,
                seeds,
                budget,
                medianDelay,
                spread,
                jitter,
                ms);
        List<Run> runs = new ArrayList<>();
        try (RetrievalLocalTask task =
                LocalTasks.retrieval(
                        null,
                        sites,
                        trainPerSite,
                        40,
                        localEpochs,
                        lr,
                        42,
                        LocalTasks.defaultCacheDir().resolve("embeddings"))) {
            System.out.println(task.description());
            for (long seed : seeds) {
                for (Method m : ms) {
                    Run r = runOne(task, m, seed);
                    runs.add(r);
                    System.out.printf(
                            Locale.ROOT,
                            "  %-8s seed %d: %d versions, %d updates, final %s %.3f%n",
                            m.name(),
                            seed,
                            r.points().size(),
                            r.updates(),
                            task.metricName(),
                            r.finalMetric());
                }
            }
            AsyncReport.write(out, runs, task.metricName(), budget, commandLine(k));
            System.out.print(AsyncReport.summary(runs, task.metricName()));
        }
        return 0;
    }

    private String commandLine(int k) {
        return String.format(
                Locale.ROOT,
                "./fedstream experiment async --sites %d --seeds %s --budget %s --median-delay %s"
                        + " --spread %s --jitter %s --fedbuff-quorum %d --server-lr %s --staleness"
                        + " %s --staleness-a %s --max-staleness %d --normalization %s"
                        + " --train-per-site %d --local-epochs %d --lr %s",
                sites,
                String.join(",", seeds.stream().map(String::valueOf).toList()),
                budget,
                medianDelay,
                spread,
                jitter,
                k,
                serverLr,
                staleness,
                stalenessA,
                maxStaleness,
                normalization,
                trainPerSite,
                localEpochs,
                lr);
    }

    private Run runOne(RetrievalLocalTask task, Method m, long seed) throws Exception {
        SiteDelays delays = new SiteDelays(sites, medianDelay, spread, jitter, seed);
        AtomicLongArray rounds = new AtomicLongArray(sites);
        java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);
        LocalTask delayed = new DelayedTask(task, delays, rounds, stop);
        LocalFederation.Settings settings =
                new LocalFederation.Settings(
                        sites,
                        seed,
                        0.5,
                        m.quorum(),
                        Duration.ofMinutes(5),
                        Duration.ofMillis(500),
                        Duration.ZERO,
                        2);
        List<Point> points = new CopyOnWriteArrayList<>();
        Path dir = Files.createTempDirectory("fedstream-async-");
        long updates = 0;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start()) {
            long[] t0Ms = {0};
            try (LocalFederation fed = new LocalFederation(kafka, settings, delayed, false)) {
                Configuration conf = fed.jobConfiguration(dir);
                conf.set(FedStreamOptions.SERVER_LEARNING_RATE, m.serverLr());
                conf.set(FedStreamOptions.STALENESS_FUNCTION, m.staleness());
                conf.set(FedStreamOptions.STALENESS_NORMALIZATION, m.normalization());
                conf.set(FedStreamOptions.STALENESS_A, stalenessA);
                conf.set(FedStreamOptions.STALENESS_MAX, maxStaleness);
                conf.set(FedStreamOptions.JOB_NAME, "fedstream-async-" + m.name() + "-" + seed);
                conf.set(RestOptions.PORT, 0);
                StreamExecutionEnvironment env =
                        StreamExecutionEnvironment.getExecutionEnvironment(conf);
                fed.scoreBehindReads();
                fed.start(
                        env,
                        conf,
                        row -> {
                            if (row.version() == 0) {
                                t0Ms[0] = row.seenAtMs(); // the sites start from version 0
                            }
                            points.add(
                                    new Point(
                                            Math.max(0, row.seenAtMs() - t0Ms[0]) / 1e3,
                                            row.version(),
                                            row.metric(),
                                            row.meanStaleness()));
                        });
                long give = System.currentTimeMillis() + 120_000;
                while (t0Ms[0] == 0 && System.currentTimeMillis() < give) {
                    Thread.sleep(100);
                }
                if (t0Ms[0] == 0) {
                    throw new IllegalStateException("no version 0 within 2 minutes");
                }
                long end = t0Ms[0] + budget.toMillis();
                fed.awaitVersions(
                        Long.MAX_VALUE,
                        Duration.ofDays(1),
                        () -> System.currentTimeMillis() >= end);
                stop.countDown(); // delayed sites stop waiting: the run is over
                for (int i = 0; i < sites; i++) {
                    updates += rounds.get(i);
                }
            } // closing scores every version read so far
        } finally {
            deleteTree(dir);
        }
        List<Point> within = new ArrayList<>();
        for (Point p : points) {
            if (p.seconds() <= budget.toMillis() / 1000.0) {
                within.add(p);
            }
        }
        within.sort(java.util.Comparator.comparingDouble(Point::seconds));
        return new Run(m, seed, within, updates);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** The task with every site's training preceded by its delay. */
    private static final class DelayedTask implements LocalTask {
        private final LocalTask inner;
        private final Map<Integer, SiteTrainer> trainers = new LinkedHashMap<>();

        DelayedTask(
                LocalTask inner,
                SiteDelays delays,
                AtomicLongArray rounds,
                java.util.concurrent.CountDownLatch stop) {
            this.inner = inner;
            for (int i = 0; i < inner.siteIds().size(); i++) {
                int site = i;
                SiteTrainer t = inner.trainer(i);
                trainers.put(
                        i,
                        new SiteTrainer() {
                            @Override
                            public FederationSpec federationSpec(String id, long seed) {
                                return t.federationSpec(id, seed);
                            }

                            @Override
                            public TrainResult train(Map<String, float[]> global, long base) {
                                long round = rounds.getAndIncrement(site);
                                try {
                                    stop.await(
                                            delays.delay(site, round).toMillis(),
                                            java.util.concurrent.TimeUnit.MILLISECONDS);
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                }
                                return t.train(global, base);
                            }

                            // the monitor scores every version for the experiment; the sites
                            // do not score each version they adopt (0 examples: not evaluated),
                            // which would take the CPU they train with
                            @Override
                            public EvalResult evaluate(Map<String, float[]> adapter) {
                                return new EvalResult(Double.NaN, Double.NaN, 0);
                            }

                            @Override
                            public void close() {}
                        });
            }
        }

        @Override
        public String description() {
            return inner.description();
        }

        @Override
        public String metricName() {
            return inner.metricName();
        }

        @Override
        public FederationSpec spec(String federationId, long seed) {
            return inner.spec(federationId, seed);
        }

        @Override
        public List<String> siteIds() {
            return inner.siteIds();
        }

        @Override
        public SiteTrainer trainer(int index) {
            return trainers.get(index);
        }

        @Override
        public Score score(Map<String, float[]> adapter) {
            return inner.score(adapter);
        }

        @Override
        public Score siteAlone(int rounds) {
            return inner.siteAlone(rounds);
        }

        @Override
        public void close() {}
    }
}
