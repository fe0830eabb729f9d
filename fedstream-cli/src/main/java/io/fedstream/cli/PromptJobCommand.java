package io.fedstream.cli;

import io.fedstream.job.prompt.PromptAggregationJob;
import io.fedstream.job.prompt.PromptOptions;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
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
            "On a Flink cluster: flink run -c io.fedstream.job.prompt.PromptAggregationJob flink-jobs.jar"
                    + " --fedstream.prompt.federations.file ... --fedstream.prompt.embeddings.file ..."
        })
final class PromptJobCommand extends LocalJobCommand {

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

    @Override
    List<ConfigOption<?>> jobOptions() {
        return PromptOptions.all();
    }

    @Override
    List<ConfigOption<?>> settableOptions() {
        List<ConfigOption<?>> options = new java.util.ArrayList<>(PromptOptions.shared());
        options.addAll(PromptOptions.all());
        return options;
    }

    @Override
    void configure(Configuration conf) {
        conf.set(PromptOptions.FEDERATIONS_FILE, federations);
        conf.set(PromptOptions.EMBEDDINGS_FILE, embeddings);
    }

    @Override
    void run(StreamExecutionEnvironment env, Configuration conf) throws Exception {
        PromptAggregationJob.run(env, conf);
    }
}
