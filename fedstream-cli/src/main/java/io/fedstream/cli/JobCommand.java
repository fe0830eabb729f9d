package io.fedstream.cli;

import io.fedstream.job.AggregationJob;
import io.fedstream.job.FedStreamOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.description.HtmlFormatter;
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
final class JobCommand implements Callable<Integer> {

    @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers.")
    String bootstrap;

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
            names = "--ui-port",
            defaultValue = "8081",
            description = "Flink web UI port (default ${DEFAULT-VALUE}).")
    int uiPort;

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
    public Integer call() throws Exception {
        if (helpConfig) {
            System.out.print(configTable());
            return 0;
        }
        Configuration conf = Configuration.fromMap(settings);
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(FedStreamOptions.FEDERATIONS_FILE, federations);
        conf.set(RestOptions.PORT, uiPort);
        if (siteKeys != null) {
            conf.set(FedStreamOptions.SITE_KEYS_FILE, siteKeys);
        }
        if (kafkaConfig != null) {
            conf.set(FedStreamOptions.CLIENT_PROPERTIES_FILE, kafkaConfig.toString());
        }
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
        AggregationJob.run(env, conf);
        return 0;
    }

    /** The job's options as a Markdown table (the README's configuration reference). */
    static String configTable() {
        StringBuilder sb = new StringBuilder("| key | default | description |\n|---|---|---|\n");
        for (ConfigOption<?> o : FedStreamOptions.all()) {
            Object def = o.hasDefaultValue() ? o.defaultValue() : "(none)";
            sb.append("| `")
                    .append(o.key())
                    .append("` | `")
                    .append(def)
                    .append("` | ")
                    .append(new HtmlFormatter().format(o.description()).replace("|", "\\|"))
                    .append(" |\n");
        }
        return sb.toString();
    }
}
