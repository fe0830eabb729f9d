package io.fedstream.cli;

import io.fedstream.job.FedStreamOptions;
import java.util.LinkedHashMap;
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
 * local Flink runtime with its web UI, {@code --set} of the job's options. Each command declares
 * its own other options.
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
    @Option(
            names = "--set",
            description =
                    "Any of the job's options as key=value, e.g. --set fedstream.round.quorum=5"
                            + " (see --help-config).")
    Map<String, String> settings = new LinkedHashMap<>();

    /**
     * Whether {@code --help-config} asks for the table of {@link #jobOptions()} instead of a run.
     */
    @Option(
            names = "--help-config",
            help = true,
            description = "Print the job's options with their defaults and exit.")
    boolean helpConfig;

    /** The options {@code --help-config} prints. */
    abstract List<ConfigOption<?>> jobOptions();

    /**
     * The options {@code --set} may name: the job's own, and for the prompt job the shared ones.
     */
    List<ConfigOption<?>> settableOptions() {
        return jobOptions();
    }

    /** Sets the command's own options in the job's configuration. */
    abstract void configure(Configuration conf);

    /** Builds the job on {@code env} and runs it. */
    abstract void run(StreamExecutionEnvironment env, Configuration conf) throws Exception;

    @Override
    public final Integer call() throws Exception {
        if (helpConfig) {
            System.out.print(configTable(jobOptions()));
            return 0;
        }
        checkSettings(settings, settableOptions());
        Configuration conf = Configuration.fromMap(settings);
        conf.set(FedStreamOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(RestOptions.PORT, uiPort);
        configure(conf);
        Preflight.portFree(uiPort, "--ui-port", "Flink web UI");
        Preflight.kafka(bootstrap, clientProperties(), Preflight.KAFKA_TIMEOUT);
        if (uiPort != 0) {
            System.out.printf("Flink web UI at http://localhost:%d (--ui-port)%n", uiPort);
        }
        try {
            run(StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf), conf);
        } catch (Exception e) {
            if (causedByPortInUse(e)) {
                throw Preflight.portInUse(uiPort, "--ui-port", "Flink web UI");
            }
            throw e;
        }
        return 0;
    }

    /** The extra Kafka client properties of the command (SASL/SSL), empty if none. */
    java.util.Properties clientProperties() {
        String file = settings.get(FedStreamOptions.CLIENT_PROPERTIES_FILE.key());
        return JobCommand.kafkaProperties(file == null ? null : java.nio.file.Path.of(file));
    }

    /**
     * Fails with a usage error on a {@code --set} key under {@code fedstream.} that is no job
     * option, or a value the option cannot parse. Other keys (Flink's own) pass unchecked.
     */
    static void checkSettings(Map<String, String> settings, List<ConfigOption<?>> options) {
        Map<String, ConfigOption<?>> byKey = new java.util.HashMap<>();
        for (ConfigOption<?> o : options) {
            byKey.put(o.key(), o);
        }
        for (Map.Entry<String, String> e : settings.entrySet()) {
            ConfigOption<?> o = byKey.get(e.getKey());
            if (o == null) {
                if (e.getKey().startsWith("fedstream.")) {
                    throw new Errors.UsageError(
                            "--set "
                                    + e.getKey()
                                    + ": no such job option (--help-config lists them)");
                }
                continue;
            }
            try {
                Configuration.fromMap(Map.of(e.getKey(), e.getValue())).get(o);
            } catch (RuntimeException bad) {
                throw new Errors.UsageError(
                        "--set "
                                + e.getKey()
                                + "="
                                + e.getValue()
                                + ": "
                                + Errors.firstLine(
                                        bad.getCause() != null
                                                        && bad.getCause().getMessage() != null
                                                ? bad.getCause().getMessage()
                                                : bad.getMessage())
                                + " (--help-config lists the options and their defaults)");
            }
        }
    }

    private static boolean causedByPortInUse(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.BindException
                    || (t.getMessage() != null
                            && t.getMessage().contains("Could not start rest endpoint"))) {
                return true;
            }
        }
        return false;
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
