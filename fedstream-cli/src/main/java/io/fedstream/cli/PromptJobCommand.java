package io.fedstream.cli;

import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.PromptAggregationJob;
import io.fedstream.job.PromptOptions;
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

/** {@code ./fedstream prompt-job}: the FedDTPT prompt aggregation job in a local Flink runtime. */
@Command(
        name = "prompt-job",
        mixinStandardHelpOptions = true,
        description = {
            "Runs the FedDTPT prompt aggregation job (prompt-updates -> global-prompts) in a local"
                    + " Flink runtime (web UI included) against an external Kafka cluster.",
            "On a Flink cluster: flink run -c io.fedstream.job.PromptAggregationJob flink-jobs.jar"
                    + " --fedstream.prompt.federations.file ... --fedstream.prompt.embeddings.file ..."
        })
final class PromptJobCommand implements Callable<Integer> {

    @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers.")
    String bootstrap;

    @Option(
            names = "--federations",
            required = true,
            description =
                    "JSON file of prompt federations: [{\"id\": ..., \"initial_tokens\": [...]}].")
    String federations;

    @Option(
            names = "--embeddings",
            required = true,
            description = "Token embedding table (./fedstream prompt-embeddings writes one).")
    String embeddings;

    @Option(
            names = "--ui-port",
            defaultValue = "8081",
            description = "Flink web UI port (default ${DEFAULT-VALUE}).")
    int uiPort;

    @Option(
            names = "--set",
            description =
                    "Any job option as key=value, e.g. --set fedstream.prompt.clustering=kmeans.")
    Map<String, String> settings = new LinkedHashMap<>();

    @Option(
            names = "--help-config",
            help = true,
            description = "Print the prompt job's own options with their defaults and exit.")
    boolean helpConfig;

    @Override
    public Integer call() throws Exception {
        if (helpConfig) {
            System.out.print(configTable());
            return 0;
        }
        Configuration conf = Configuration.fromMap(settings);
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(PromptOptions.FEDERATIONS_FILE, federations);
        conf.set(PromptOptions.EMBEDDINGS_FILE, embeddings);
        conf.set(RestOptions.PORT, uiPort);
        PromptAggregationJob.run(
                StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf), conf);
        return 0;
    }

    static String configTable() {
        StringBuilder sb = new StringBuilder("| key | default | description |\n|---|---|---|\n");
        for (ConfigOption<?> o : PromptOptions.all()) {
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
