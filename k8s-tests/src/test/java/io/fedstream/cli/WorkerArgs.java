package io.fedstream.cli;

import java.util.List;
import picocli.CommandLine;

/** Parses a worker container's arguments with the real {@code ./fedstream worker} command. */
public final class WorkerArgs {
    private WorkerArgs() {}

    /** The parsed options the manifests care about. */
    public record Parsed(
            String bootstrap,
            String siteId,
            int siteIndex,
            int sites,
            String kafkaConfig,
            String signingKey,
            String keyId,
            Integer healthPort) {}

    /** {@code args} as given to the image's entry point: {@code worker --bootstrap ...}. */
    public static Parsed parse(List<String> args) {
        if (args.isEmpty() || !args.get(0).equals("worker")) {
            throw new IllegalArgumentException("expected the worker subcommand: " + args);
        }
        WorkerCommand w = new WorkerCommand();
        new CommandLine(w).parseArgs(args.subList(1, args.size()).toArray(String[]::new));
        return new Parsed(
                w.kafka.bootstrap,
                w.siteId,
                w.siteIndex,
                w.sites,
                w.kafka.kafkaConfig == null ? null : w.kafka.kafkaConfig.toString(),
                w.signingKey == null ? null : w.signingKey.toString(),
                w.keyId,
                w.healthPort);
    }
}
