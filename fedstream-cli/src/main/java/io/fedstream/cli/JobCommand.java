package io.fedstream.cli;

import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.adapter.AggregationJob;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./fedstream job}: the aggregation job in a local Flink runtime against external Kafka. */
@Command(
        name = "job",
        mixinStandardHelpOptions = true,
        description = {
            "Runs the aggregation job in a local Flink runtime (web UI included) against an"
                    + " external Kafka cluster.",
            "On a Flink cluster, submit flink-jobs' jar instead: flink run -c"
                    + " io.fedstream.job.adapter.AggregationJob flink-jobs.jar --fedstream.<key> <value> ..."
        })
final class JobCommand extends LocalJobCommand {

    @Option(
            names = "--federations",
            required = true,
            description = "JSON file of federation specs (./fedstream spec prints one).")
    String federations;

    @Option(
            names = "--kafka-config",
            description =
                    "Java properties file of extra Kafka client settings (SASL/SSL), see docs/operations.md.")
    java.nio.file.Path kafkaConfig;

    @Option(
            names = "--site-keys",
            description =
                    "Registry of the sites' public keys (./fedstream keygen); updates must be signed.")
    String siteKeys;

    @Override
    List<ConfigOption<?>> jobOptions() {
        return FedStreamOptions.all();
    }

    @Override
    void configure(Configuration conf) {
        conf.set(FedStreamOptions.FEDERATIONS_FILE, federations);
        specs = readSpecs(java.nio.file.Path.of(federations));
        if (siteKeys != null) {
            conf.set(FedStreamOptions.SITE_KEYS_FILE, siteKeys);
            int sites = readRegistry(java.nio.file.Path.of(siteKeys)).sites().size();
            if (!settings.containsKey(FedStreamOptions.ROUND_QUORUM.key())) {
                // The registry says how many sites there are: a quorum of all of them would make
                // every round wait for the slowest site, and for the deadline when one is down.
                int quorum = defaultQuorum(sites);
                conf.set(FedStreamOptions.ROUND_QUORUM, quorum);
                System.out.printf(
                        "quorum %d: %d sites in %s, a round closes when all but one have sent"
                                + " (--set %s=N to choose)%n",
                        quorum, sites, siteKeys, FedStreamOptions.ROUND_QUORUM.key());
            }
        }
        if (kafkaConfig != null) {
            conf.set(FedStreamOptions.CLIENT_PROPERTIES_FILE, kafkaConfig.toString());
        }
    }

    /** The quorum where the number of sites is known: all but one of them, at least one. */
    static int defaultQuorum(int sites) {
        return Math.max(1, sites - 1);
    }

    private java.util.List<io.fedstream.schemas.FederationSpec> specs = List.of();

    @Override
    java.util.Properties clientProperties() {
        return kafkaConfig != null ? kafkaProperties(kafkaConfig) : super.clientProperties();
    }

    /** {@code --kafka-config}'s properties, or a one-line error naming the file. */
    static java.util.Properties kafkaProperties(java.nio.file.Path file) {
        if (file != null && !java.nio.file.Files.isRegularFile(file)) {
            throw new Errors.UserError("--kafka-config " + file + ": no such file");
        }
        try {
            return AuditCommand.loadProperties(file);
        } catch (java.io.IOException e) {
            throw new Errors.UserError("--kafka-config " + file + ": " + Errors.oneLine(e), e);
        }
    }

    @Override
    void run(StreamExecutionEnvironment env, Configuration conf) throws Exception {
        try (JobProgress progress =
                JobProgress.start(
                        conf.get(FedStreamOptions.BOOTSTRAP_SERVERS),
                        clientProperties(),
                        conf.get(FedStreamOptions.GLOBAL_MODELS_TOPIC),
                        conf.get(FedStreamOptions.ROUND_QUORUM),
                        conf.get(FedStreamOptions.ROUND_TIMEOUT),
                        specs.stream().map(io.fedstream.schemas.FederationSpec::id).toList(),
                        System.out)) {
            AggregationJob.run(env, conf);
        }
    }

    /** The federation specs of {@code file}, or a one-line error naming the file and the fix. */
    static java.util.List<io.fedstream.schemas.FederationSpec> readSpecs(java.nio.file.Path file) {
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new Errors.UserError(
                    "--federations "
                            + file
                            + ": no such file (./fedstream spec > "
                            + file.getFileName()
                            + " writes one)");
        }
        try {
            return io.fedstream.schemas.FederationSpec.readAll(file);
        } catch (IllegalArgumentException e) {
            throw new Errors.UserError(Errors.firstLine(e.getMessage()), e);
        }
    }

    private static io.fedstream.schemas.SiteKeys readRegistry(java.nio.file.Path file) {
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new Errors.UserError(
                    "--site-keys " + file + ": no such file (./fedstream keygen creates it)");
        }
        try {
            return io.fedstream.schemas.SiteKeys.read(file);
        } catch (RuntimeException e) {
            throw new Errors.UserError(
                    "--site-keys " + file + ": " + Errors.firstLine(Errors.oneLine(e)), e);
        }
    }
}
