package io.fedstream.cli;

import java.util.List;
import picocli.CommandLine;

/**
 * Parses a worker's or prompt worker's container arguments with the real {@code ./fedstream
 * worker}, {@code prompt-worker} and {@code prompt-embeddings} commands.
 */
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
        WorkerCommand w = parse(args, "worker", new WorkerCommand());
        return site(w.kafka, w.siteId, w.siteIndex, w.sites, w.signingKey, w.keyId, w.healthPort);
    }

    private static Parsed site(
            KafkaOptions kafka,
            String siteId,
            int siteIndex,
            int sites,
            Object signingKey,
            String keyId,
            Integer healthPort) {
        return new Parsed(
                kafka.bootstrap,
                siteId,
                siteIndex,
                sites,
                text(kafka.kafkaConfig),
                text(signingKey),
                keyId,
                healthPort);
    }

    private static String text(Object value) {
        return value == null ? null : value.toString();
    }

    /**
     * A prompt worker's parsed options the manifests care about: those it shares with a worker (no
     * signing key, no health port) and its data file and black-box endpoint.
     */
    public record PromptParsed(Parsed site, String imdb, String endpoint) {}

    /** {@code args} as given to the image's entry point: {@code prompt-worker --bootstrap ...}. */
    public static PromptParsed parsePromptWorker(List<String> args) {
        PromptWorkerCommand w = parse(args, "prompt-worker", new PromptWorkerCommand());
        return new PromptParsed(
                site(w.kafka, w.siteId, w.siteIndex, w.sites, null, null, null),
                text(w.imdb),
                text(w.endpoint));
    }

    /** The {@code --out} file of {@code prompt-embeddings --out FILE}. */
    public static String parsePromptEmbeddingsOut(List<String> args) {
        return parse(args, "prompt-embeddings", new PromptEmbeddingsCommand()).out.toString();
    }

    private static <T> T parse(List<String> args, String subcommand, T command) {
        if (args.isEmpty() || !args.get(0).equals(subcommand)) {
            throw new IllegalArgumentException(
                    "expected the " + subcommand + " subcommand: " + args);
        }
        new CommandLine(command).parseArgs(args.subList(1, args.size()).toArray(String[]::new));
        return command;
    }
}
