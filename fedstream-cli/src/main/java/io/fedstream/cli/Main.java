package io.fedstream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ./fedstream} command line. */
@Command(
        name = "fedstream",
        mixinStandardHelpOptions = true,
        version = "FedStream 0.1.0-SNAPSHOT",
        description =
                "Continual, asynchronous federated tuning of language models on Flink and Kafka.",
        subcommands = {
            LocalCommand.class,
            JobCommand.class,
            WorkerCommand.class,
            SpecCommand.class,
            AuditCommand.class,
            LedgerCommand.class,
            KeygenCommand.class,
            KafkaCommand.class,
            BenchCommand.class,
            ExperimentCommand.class,
            PromptEmbeddingsCommand.class,
            PromptJobCommand.class,
            PromptWorkerCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }
}
