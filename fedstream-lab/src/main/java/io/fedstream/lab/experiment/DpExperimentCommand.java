package io.fedstream.lab.experiment;

import io.fedstream.aggregation.privacy.RdpAccountant;
import io.fedstream.cli.LocalFederation;
import io.fedstream.cli.PrivacyLedgers;
import io.fedstream.cli.VersionRow;
import io.fedstream.embedded.EmbeddedKafka;
import io.fedstream.lab.options.OutOption;
import io.fedstream.lab.options.SeedOption;
import io.fedstream.schemas.PrivacySpec;
import io.fedstream.schemas.TensorCodec;
import io.fedstream.schemas.avro.AdapterUpdate;
import io.fedstream.schemas.avro.PrivacyLedger;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.WorkerListener;
import io.fedstream.worker.mlp.DemoFederation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream experiment dp}: what central DP costs. The whole local system (Kafka, the job,
 * the sites' workers with real DJL training on the demo task of {@link DemoFederation}) once
 * without DP and once per target ε; each DP run's noise multiplier is the smallest that keeps a
 * site contributing to every one of the run's versions within ε at δ ({@link
 * RdpAccountant#sigmaFor}), the budget is ε, and the divisor the quorum.
 */
@Command(
        name = "dp",
        mixinStandardHelpOptions = true,
        description = {
            "Central DP-FedAvg utility against epsilon on the local demo task (LoRA MLP, real DJL"
                    + " training, the real job on an embedded Kafka): no DP, then each --epsilons"
                    + " at --delta, --versions versions each. Prints held-out accuracy and loss of"
                    + " the last version, sigma, and the largest epsilon a site spent (from the"
                    + " privacy ledger)."
        })
final class DpExperimentCommand implements Callable<Integer> {

    @Mixin SeedOption seedOption;

    /** Where the specs, secrets and dp-utility.csv go. */
    @Mixin OutOption outOption;

    @Option(
            names = "--epsilons",
            split = ",",
            defaultValue = "8,4,1",
            description = "Target epsilons (default ${DEFAULT-VALUE}).")
    List<Double> epsilons;

    @Option(names = "--delta", defaultValue = "1e-5", description = "(default ${DEFAULT-VALUE})")
    double delta;

    @Option(
            names = "--clip",
            defaultValue = "0.5",
            description = "Clip norm C (default ${DEFAULT-VALUE}).")
    double clip;

    @Option(names = "--sites", defaultValue = "3", description = "(default ${DEFAULT-VALUE})")
    int sites;

    @Option(names = "--versions", defaultValue = "10", description = "(default ${DEFAULT-VALUE})")
    int versions;

    record Result(
            String setting,
            double sigma,
            long version,
            double accuracy,
            double loss,
            double maxEpsilon,
            double medianNorm) {
        /** The fields in this order through {@code pattern} (Locale.ROOT). */
        String formatted(String pattern) {
            return String.format(
                    Locale.ROOT,
                    pattern,
                    setting,
                    sigma,
                    version,
                    accuracy,
                    loss,
                    maxEpsilon,
                    medianNorm);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (sites < 2 || versions < 1 || !(clip > 0) || !(delta > 0 && delta < 1)) {
            System.err.println("need --sites >= 2, --versions >= 1, --clip > 0, 0 < --delta < 1");
            return 2;
        }
        int quorum = sites - 1;
        List<Result> results = new ArrayList<>();
        results.add(run("no DP", null, quorum));
        for (double eps : epsilons) {
            double sigma = RdpAccountant.sigmaFor(eps, delta, versions, 1.0);
            results.add(
                    run(
                            "epsilon " + eps,
                            new PrivacySpec(clip, sigma, delta, eps, quorum),
                            quorum));
        }
        System.out.printf(
                "%n%d sites, quorum %d, %d versions, clip %.3g, delta %.0e, seed %d%n",
                sites, quorum, versions, clip, delta, seedOption.seed());
        System.out.printf(
                "%-12s %8s %8s %10s %10s %12s %12s%n",
                "setting", "sigma", "version", "accuracy", "loss", "max eps", "median norm");
        List<String> csv = new ArrayList<>();
        csv.add("setting,sigma,version,accuracy,loss,max_site_epsilon,median_update_norm");
        for (Result r : results) {
            System.out.println(r.formatted("%-12s %8.3f %8d %10.3f %10.4f %12.3f %12.4f"));
            csv.add(r.formatted("%s,%.4f,%d,%.4f,%.5f,%.4f,%.5f"));
        }
        Files.write(outOption.out().resolve("dp-utility.csv"), csv);
        System.out.println("report: " + outOption.out().resolve("dp-utility.csv"));
        return 0;
    }

    private Result run(String setting, PrivacySpec privacy, int quorum) throws Exception {
        Path dir = outOption.out().resolve(setting.replace(' ', '-'));
        Files.createDirectories(dir);
        List<Double> norms = new CopyOnWriteArrayList<>();
        LocalFederation.Settings settings =
                new LocalFederation.Settings(
                        sites,
                        seedOption.seed(),
                        0.5,
                        quorum,
                        Duration.ofSeconds(20),
                        Duration.ofSeconds(1),
                        Duration.ofMillis(500),
                        2);
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().start();
                LocalFederation fed = new LocalFederation(kafka, settings)) {
            if (privacy != null) {
                fed.withPrivacyBudget(
                        privacy.epsilonBudget(),
                        privacy.delta(),
                        privacy.clipNorm(),
                        versions,
                        dir.resolve("job.secret"));
            }
            fed.withWorkerListener(
                    new WorkerListener() {
                        @Override
                        public void onUpdatePublished(
                                AdapterUpdate update, SiteTrainer.TrainResult result) {
                            double sq = 0;
                            for (var t : update.getTensors()) {
                                for (float x : TensorCodec.toFloats(t)) {
                                    sq += (double) x * x;
                                }
                            }
                            norms.add(Math.sqrt(sq));
                        }
                    });
            Configuration conf = fed.jobConfiguration(dir);
            StreamExecutionEnvironment env =
                    StreamExecutionEnvironment.createLocalEnvironment(conf);
            System.out.printf("%s: starting (%s)%n", setting, privacy == null ? "-" : privacy);
            fed.start(
                    env, conf, row -> System.out.println(setting + ": " + row.console("accuracy")));
            fed.awaitVersions(versions, Duration.ofMinutes(20), () -> false);
            VersionRow last =
                    fed.rows().stream().filter(r -> r.version() == versions).findFirst().get();
            double maxEps = 0;
            if (privacy != null) {
                java.util.Properties client = kafka.clientProperties();
                TreeMap<Long, PrivacyLedger> ledger =
                        PrivacyLedgers.read(
                                client, io.fedstream.schemas.Topics.PRIVACY_LEDGER, "demo");
                for (PrivacyLedger l : ledger.headMap((long) versions, true).values()) {
                    maxEps = Math.max(maxEps, PrivacyLedgers.maxEpsilon(l));
                }
            }
            List<Double> sorted = new ArrayList<>(norms);
            Collections.sort(sorted);
            return new Result(
                    setting,
                    privacy == null ? 0 : privacy.noiseMultiplier(),
                    last.version(),
                    last.metric(),
                    last.evalLoss(),
                    maxEps,
                    sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2));
        }
    }
}
