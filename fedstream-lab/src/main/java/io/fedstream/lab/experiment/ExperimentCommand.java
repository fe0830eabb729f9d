package io.fedstream.lab.experiment;

import io.fedstream.lab.options.CommandGroup;
import picocli.CommandLine.Command;

/** {@code ./fedstream experiment NAME}: experiments that write their own report. */
@Command(
        name = "experiment",
        mixinStandardHelpOptions = true,
        subcommands = {
            FedItExperimentCommand.class,
            FedDtptCommand.class,
            FedPitExperimentCommand.class,
            AsyncExperimentCommand.class,
            DpExperimentCommand.class
        },
        description = {
            "Runs an experiment and writes its report (Markdown, CSV, PNG) to --out"
                    + " (docs/experiments.md). `experiment NAME --help` lists one's options."
        })
public final class ExperimentCommand extends CommandGroup {}
