package io.fedstream.cli;

import io.fedstream.job.AggregationJob;
import io.fedstream.job.FedStreamOptions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
                    + " io.fedstream.job.AggregationJob flink-jobs.jar --fedstream.<key> <value> ..."
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

    @Option(
            names = "--set",
            description =
                    "Any job option as key=value, e.g. --set fedstream.round.quorum=5 (see --help-config).")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(
            names = "--help-config",
            help = true,
            description = "Print every job option with its default and exit.")
    boolean helpConfig;

    @Override
    Map<String, String> settings() {
        return settings;
    }

    @Override
    boolean helpConfig() {
        return helpConfig;
    }

    @Override
    List<ConfigOption<?>> jobOptions() {
        return FedStreamOptions.all();
    }

    @Override
    void configure(Configuration conf) {
        conf.set(FedStreamOptions.FEDERATIONS_FILE, federations);
        if (siteKeys != null) {
            conf.set(FedStreamOptions.SITE_KEYS_FILE, siteKeys);
        }
        if (kafkaConfig != null) {
            conf.set(FedStreamOptions.CLIENT_PROPERTIES_FILE, kafkaConfig.toString());
        }
    }

    @Override
    void run(StreamExecutionEnvironment env, Configuration conf) throws Exception {
        AggregationJob.run(env, conf);
    }
}
