package io.fedstream.cli;

import io.fedstream.embedded.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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

    @Option(
            names = "--sites",
            defaultValue = "3",
            description = "Number of sites (default ${DEFAULT-VALUE}).")
    int sites;

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
                    "Dirichlet concentration of the label split; small is more non-IID (default ${DEFAULT-VALUE}).")
    double alpha;

    @Option(
            names = "--seed",
            defaultValue = "42",
            description = "Seed of data, model and training (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        int q = quorum != null ? quorum : Math.max(1, sites - 1);
        LocalFederation.Settings settings =
                new LocalFederation.Settings(
                        sites, seed, alpha, q, roundTimeout, Duration.ofSeconds(1), slowdown, 2);
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
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().port(kafkaPort).start();
                LocalFederation fed = new LocalFederation(kafka, settings)) {
            Configuration conf = fed.jobConfiguration(out);
            conf.set(RestOptions.PORT, uiPort);
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
            System.out.printf(
                    "FedStream local: Kafka at %s, %d sites, quorum %d, federation '%s' (%d adapter parameters)%n",
                    kafka.bootstrapServers(),
                    sites,
                    q,
                    fed.spec().id(),
                    fed.spec().parameterCount());
            long target = versions > 0 ? versions : Long.MAX_VALUE;
            // rounds that close while the federation shuts down are in the report, not printed
            fed.start(
                    env,
                    conf,
                    row -> {
                        if (row.version() <= target) {
                            System.out.println(row.console());
                        }
                    });
            System.out.println(
                    uiPort == 0
                            ? "Flink web UI on a free port (see the log line of WebMonitorEndpoint)"
                            : "Flink web UI: http://localhost:" + uiPort);
            try {
                fed.awaitVersions(target, Duration.ofDays(365), () -> interrupted.getCount() == 0);
            } finally {
                fed.writeReport(out);
                List<VersionRow> rows =
                        fed.rows().stream().filter(r -> r.version() <= target).toList();
                if (!rows.isEmpty()) {
                    VersionRow first = rows.get(0);
                    VersionRow last = rows.get(rows.size() - 1);
                    System.out.printf(
                            "held-out accuracy %.3f at version %d -> %.3f at version %d%n",
                            first.evalAccuracy(),
                            first.version(),
                            last.evalAccuracy(),
                            last.version());
                }
                System.out.println(
                        "report: "
                                + out.resolve("versions.csv")
                                + ", "
                                + out.resolve("accuracy.png"));
            }
        } finally {
            finished.countDown();
            if (interrupted.getCount() > 0) {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
        }
        return 0;
    }
}
