package io.fedstream.cli;

import io.fedstream.job.FedStreamOptions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.description.HtmlFormatter;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Option;

/**
 * What {@code ./fedstream job} and {@code ./fedstream prompt-job} share: {@code --bootstrap} and
 * {@code --ui-port}, printing the job's options for {@code --help-config}, and running the job in a
 * local Flink runtime with its web UI. Each command declares its own {@code --set} and {@code
 * --help-config} (their help texts differ) and its own options.
 */
abstract class LocalJobCommand implements Callable<Integer> {

    @Option(names = "--bootstrap", required = true, description = "Kafka bootstrap servers.")
    String bootstrap;

    @Option(
            names = "--ui-port",
            defaultValue = "8081",
            description = "Flink web UI port (default ${DEFAULT-VALUE}).")
    int uiPort;

    /** The {@code --set} key=value settings: the job's configuration before the options. */
    abstract Map<String, String> settings();

    /**
     * Whether {@code --help-config} asks for the table of {@link #jobOptions()} instead of a run.
     */
    abstract boolean helpConfig();

    /** The options {@code --help-config} prints. */
    abstract List<ConfigOption<?>> jobOptions();

    /** Sets the command's own options in the job's configuration. */
    abstract void configure(Configuration conf);

    /** Builds the job on {@code env} and runs it. */
    abstract void run(StreamExecutionEnvironment env, Configuration conf) throws Exception;

    @Override
    public final Integer call() throws Exception {
        if (helpConfig()) {
            System.out.print(configTable(jobOptions()));
            return 0;
        }
        Configuration conf = Configuration.fromMap(settings());
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(RestOptions.PORT, uiPort);
        configure(conf);
        run(StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf), conf);
        return 0;
    }

    /** Options as a Markdown table (the README's configuration reference). */
    static String configTable(List<ConfigOption<?>> options) {
        StringBuilder sb = new StringBuilder("| key | default | description |\n|---|---|---|\n");
        for (ConfigOption<?> o : options) {
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
