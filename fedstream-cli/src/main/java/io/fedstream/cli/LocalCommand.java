package io.fedstream.cli;

import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.schemas.PrivacySpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream local}: Kafka, the job with its web UI, and several workers in one process.
 */
@Command(
        name = "local",
        mixinStandardHelpOptions = true,
        description = {
            "Runs a whole federation on this machine: a Kafka broker (KRaft) on loopback, the"
                    + " aggregation job in a local Flink runtime with its web UI, and several site"
                    + " workers training a LoRA-adapted model with DJL at different speeds.",
            "Prints every global version with its held-out quality and leaves a report (CSV and"
                    + " chart) in --out."
        })
final class LocalCommand implements Callable<Integer> {

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            defaultValue = "minilm",
            description =
                    "What the sites tune: minilm (all-MiniLM-L6-v2 + LoRA for MedQuAD"
                            + " question-to-answer retrieval, MedQuAD's NIH websites as the sites)"
                            + " or mlp (the demo: a small MLP on generated data) (default"
                            + " ${DEFAULT-VALUE}).")
    String model;

    @Option(
            names = "--sites",
            description = "Number of sites (default: minilm 9, all of MedQuAD's websites; mlp 3).")
    Integer sites;

    @Option(
            names = "--data",
            description =
                    "minilm: MedQuAD (medquad.jsonl.gz or its folder; default: the copy shipped in"
                            + " datasets/medquad).")
    Path data;

    @Option(
            names = "--train-per-site",
            defaultValue = "32",
            description = "minilm: training questions per site (default ${DEFAULT-VALUE}).")
    int trainPerSite;

    @Option(
            names = "--test-per-site",
            defaultValue = "40",
            description = "minilm: held-out questions per site (default ${DEFAULT-VALUE}).")
    int testPerSite;

    @Option(
            names = "--local-epochs",
            defaultValue = "2",
            description =
                    "minilm: passes over the local questions per update (default ${DEFAULT-VALUE}).")
    int localEpochs;

    @Option(
            names = "--lr",
            defaultValue = "3e-3",
            description = "minilm: Adam learning rate (default ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(
            names = "--cache",
            description =
                    "Where answer embeddings and site-alone baselines are kept between runs"
                            + " (default: $XDG_CACHE_HOME/fedstream or ~/.cache/fedstream).")
    Path cache;

    @Option(
            names = "--versions",
            defaultValue = "10",
            description =
                    "Stop after this many global versions; 0 runs until interrupted (default ${DEFAULT-VALUE}).")
    int versions;

    @Option(
            names = "--out",
            defaultValue = "fedstream-out",
            description = "Report directory (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(
            names = "--ui-port",
            defaultValue = "8081",
            description = "Flink web UI port; 0 picks a free one (default ${DEFAULT-VALUE}).")
    int uiPort;

    @Option(
            names = "--kafka-port",
            defaultValue = "0",
            description = "Broker port; 0 picks a free one (default ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--quorum", description = "Updates per round (default: sites - 1, at least 1).")
    Integer quorum;

    @Option(
            names = "--round-timeout",
            defaultValue = "PT20S",
            description = "Round deadline, ISO-8601 (default ${DEFAULT-VALUE}).")
    Duration roundTimeout;

    @Option(
            names = "--slowdown",
            defaultValue = "PT0.5S",
            description =
                    "Extra time per round of each further site: site k waits k times this (default ${DEFAULT-VALUE}).")
    Duration slowdown;

    @Option(
            names = "--alpha",
            defaultValue = "0.5",
            description =
                    "mlp: Dirichlet concentration of the label split; small is more non-IID (default ${DEFAULT-VALUE}).")
    double alpha;

    @Option(
            names = "--encoding",
            defaultValue = "float32",
            description =
                    "How the sites' updates travel (the spec's encoding): float32 (default),"
                            + " bfloat16, int8[:B] or nf4[:B] (B a multiple of 16 from 64 to 256,"
                            + " default 64; ./fedstream bench wire compares them).")
    String encoding;

    @Option(
            names = "--seed",
            defaultValue = "42",
            description = "Seed of data, model and training (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--dp-epsilon",
            description =
                    "Central client-level DP (DP-FedAvg) with this budget epsilon per site: the"
                            + " noise multiplier is the smallest that keeps a site in all --versions"
                            + " versions within it at --dp-delta (RDP accountant), the job refuses"
                            + " updates beyond it, and each version's line and the CSV's epsilon"
                            + " column give the largest epsilon a site has spent (default: no DP).")
    Double dpEpsilon;

    @Option(
            names = "--dp-delta",
            defaultValue = "1e-5",
            description = "With --dp-epsilon: delta (default ${DEFAULT-VALUE}).")
    double dpDelta;

    @Option(
            names = "--dp-clip",
            defaultValue = "1.0",
            description =
                    "With --dp-epsilon: clip norm C of every update (L2 over all adapter tensors)"
                            + " (default ${DEFAULT-VALUE}).")
    double dpClip;

    @Override
    public Integer call() throws Exception {
        for (String dpOption : List.of("--dp-delta", "--dp-clip")) {
            if (dpEpsilon == null
                    && spec.commandLine().getParseResult().hasMatchedOption(dpOption)) {
                throw new Errors.UsageError(
                        dpOption + " only applies with --dp-epsilon (central DP)");
            }
        }
        if (dpEpsilon != null) {
            checkPrivacy(dpEpsilon, dpDelta, dpClip, versions);
        }
        boolean mlp =
                switch (model) {
                    case "mlp" -> true;
                    case "minilm" -> false;
                    default ->
                            throw new picocli.CommandLine.ParameterException(
                                    spec.commandLine(),
                                    "--model must be minilm or mlp, not " + model);
                };
        int n = sites != null ? sites : mlp ? 3 : 9;
        int q = quorum != null ? quorum : Math.max(1, n - 1);
        Path cacheDir = cache != null ? cache : LocalTasks.defaultCacheDir();
        io.fedstream.schemas.UpdateEncoding updateEncoding;
        try {
            updateEncoding = io.fedstream.schemas.UpdateEncoding.parse(encoding);
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(), "--encoding: " + e.getMessage());
        }
        Preflight.portFree(uiPort, "--ui-port", "Flink web UI"); // before anything starts
        LocalFederation.Settings settings =
                new LocalFederation.Settings(
                        n, seed, alpha, q, roundTimeout, Duration.ofSeconds(1), slowdown, 2);
        Files.createDirectories(out);
        CountDownLatch interrupted = new CountDownLatch(1);
        CountDownLatch finished = new CountDownLatch(1);
        Thread hook =
                new Thread(
                        () -> {
                            interrupted.countDown();
                            try {
                                finished.await();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        });
        Runtime.getRuntime().addShutdownHook(hook);
        long t0 = System.nanoTime();
        LocalTask task =
                mlp
                        ? new MlpLocalTask(LocalFederation.FEDERATION, seed, n, alpha)
                        : LocalTasks.retrieval(
                                data,
                                n,
                                trainPerSite,
                                testPerSite,
                                localEpochs,
                                learningRate,
                                seed,
                                cacheDir);
        System.out.println("FedStream local: " + task.description());
        int baselineRounds = versions > 0 ? versions : 10;
        LocalTask.Score baseline = LocalTasks.siteAloneCached(task, baselineRounds, cacheDir, seed);
        System.out.printf(
                Locale.ROOT,
                "site-alone baseline (each site trains %d rounds on its own data): %s %.3f, per site %s%n",
                baselineRounds,
                task.metricName(),
                baseline.metric(),
                LocalTasks.perSite(task.siteIds(), baseline.perSite()));
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(kafkaPort).start();
                LocalFederation fed =
                        new LocalFederation(kafka, settings, task, true)
                                .withEncoding(updateEncoding)) {
            fed.baseline(baseline);
            SiteProgress progress = new SiteProgress(task.siteIds(), mlp ? 1 : localEpochs);
            fed.progress(progress);
            boolean tty = System.console() != null;
            if (dpEpsilon != null) {
                PrivacySpec p =
                        fed.withPrivacyBudget(
                                dpEpsilon, dpDelta, dpClip, versions, out.resolve("dp.secret"));
                System.out.printf(
                        Locale.ROOT,
                        "central DP: budget epsilon %s at delta %s per site, clip %s, noise"
                                + " multiplier %.4f (a site in all %d versions spends at most the"
                                + " budget), divisor %d; job secret %s (for ./fedstream audit"
                                + " --privacy-secret)%n",
                        p.epsilonBudget(),
                        p.delta(),
                        p.clipNorm(),
                        p.noiseMultiplier(),
                        versions,
                        p.expectedContributions(),
                        out.resolve("dp.secret"));
            }
            Configuration conf = fed.jobConfiguration(out);
            conf.set(RestOptions.PORT, uiPort);
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
            System.out.printf(
                    "Kafka at %s, %d sites, quorum %d, federation '%s' (%d adapter parameters)%n",
                    kafka.bootstrapServers(), n, q, fed.spec().id(), fed.spec().parameterCount());
            long target = versions > 0 ? versions : Long.MAX_VALUE;
            // rounds that close while the federation shuts down are in the report, not printed
            fed.start(
                    env,
                    conf,
                    row -> {
                        if (row.version() <= target) {
                            synchronized (progress) {
                                // on a terminal, the line replaces the progress line
                                System.out.println(
                                        (tty ? "\r\033[K" : "") + row.console(task.metricName()));
                            }
                        }
                    });
            System.out.println(
                    uiPort == 0
                            ? "Flink web UI on a free port (see the log line of WebMonitorEndpoint)"
                            : "Flink web UI: http://localhost:" + uiPort);
            Thread ticker = null;
            if (tty) {
                ticker =
                        new Thread(
                                () -> {
                                    while (!Thread.currentThread().isInterrupted()) {
                                        synchronized (progress) {
                                            System.out.print("\r\033[K" + progress.line());
                                            System.out.flush();
                                        }
                                        try {
                                            Thread.sleep(1000);
                                        } catch (InterruptedException e) {
                                            return;
                                        }
                                    }
                                },
                                "progress-line");
                ticker.setDaemon(true);
                ticker.start();
            }
            try {
                fed.awaitVersions(target, Duration.ofDays(365), () -> interrupted.getCount() == 0);
            } finally {
                if (ticker != null) {
                    ticker.interrupt();
                    System.out.print("\r\033[K");
                }
                System.out.println(progress.line());
                fed.writeReport(out);
                List<VersionRow> rows =
                        fed.rows().stream().filter(r -> r.version() <= target).toList();
                if (!rows.isEmpty()) {
                    VersionRow first = rows.get(0);
                    VersionRow last = rows.get(rows.size() - 1);
                    System.out.printf(
                            Locale.ROOT,
                            "held-out %s %.3f at version %d -> %.3f at version %d; site-alone %.3f"
                                    + " (%+.1f points); per site %s%n",
                            task.metricName(),
                            first.metric(),
                            first.version(),
                            last.metric(),
                            last.version(),
                            baseline.metric(),
                            100 * (last.metric() - baseline.metric()),
                            LocalTasks.perSite(task.siteIds(), last.perSite()));
                }
                System.out.printf(
                        Locale.ROOT,
                        "report: %s, %s (%.0f s)%n",
                        out.resolve("versions.csv"),
                        out.resolve("metric.png"),
                        (System.nanoTime() - t0) / 1e9);
            }
        } finally {
            finished.countDown();
            if (interrupted.getCount() > 0) {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
        }
        return 0;
    }

    /** The DP options' one-line refusals, before anything starts. */
    static void checkPrivacy(double epsilon, double delta, double clip, int versions) {
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
            throw new Errors.UsageError("--dp-epsilon must be a finite number > 0, not " + epsilon);
        }
        if (!(delta > 0 && delta < 1)) {
            throw new Errors.UsageError("--dp-delta must be in (0, 1), not " + delta);
        }
        if (!(clip > 0) || Double.isInfinite(clip)) {
            throw new Errors.UsageError("--dp-clip must be a finite number > 0, not " + clip);
        }
        if (versions <= 0) {
            throw new Errors.UsageError(
                    "--dp-epsilon needs --versions > 0: the noise is planned for that many"
                            + " versions");
        }
    }
}
