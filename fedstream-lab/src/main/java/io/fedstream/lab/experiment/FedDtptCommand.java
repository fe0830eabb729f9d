package io.fedstream.lab.experiment;

import io.fedstream.lab.options.OutOption;
import io.fedstream.lab.options.QuickOption;
import io.fedstream.lab.options.SeedOption;
import io.fedstream.worker.data.ImdbReviews;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./fedstream experiment feddtpt}: FedDTPT on IMDb through a black-box zero-shot MiniLM. */
@Command(
        name = "feddtpt",
        mixinStandardHelpOptions = true,
        description = {
            "FedDTPT on IMDb sentiment (after scripts/fetch-datasets.sh): clients tune discrete"
                    + " prompts through a black-box zero-shot MiniLM; hand-written vs local-only vs"
                    + " FedDTPT (DBSCAN, KMeans) vs embedding averaging, IID and Dirichlet, transfer"
                    + " to bge-small (docs/experiments.md). Writes feddtpt.md and feddtpt.csv to"
                    + " --out. --quick: 16 examples per client, a test set of 100, 2 rounds, 240"
                    + " calls per client and round, scoring sets of 8."
        })
final class FedDtptCommand implements Callable<Integer> {
    @Mixin SeedOption seedOption;

    @Mixin OutOption outOption;

    @Mixin QuickOption quickOption;

    @Option(
            names = "--rounds",
            defaultValue = "5",
            description = "Federated rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(
            names = "--clients",
            defaultValue = "10",
            description = "Clients (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(
            names = "--dirichlet",
            defaultValue = "0.1",
            description =
                    "Dirichlet concentration of the non-IID split (default ${DEFAULT-VALUE}).")
    double alpha;

    @Option(
            names = "--train-per-client",
            defaultValue = "64",
            description = "Labelled examples per client.")
    int trainPerClient;

    @Option(
            names = "--public-per-class",
            defaultValue = "8",
            description = "Public balanced set, per class.")
    int publicPerClass;

    @Option(names = "--test", defaultValue = "400", description = "Balanced held-out test set.")
    int test;

    @Option(
            names = "--budget",
            defaultValue = "768",
            description = "API calls per client and round (default ${DEFAULT-VALUE}).")
    int budget;

    @Option(
            names = "--batch",
            defaultValue = "32",
            description = "Local examples in a scoring set.")
    int batch;

    @Option(names = "--neighbours", defaultValue = "16", description = "Candidate words per token.")
    int neighbours;

    @Option(names = "--prompt-tokens", defaultValue = "12", description = "Longest prompt.")
    int promptTokens;

    @Option(names = "--text-tokens", defaultValue = "128", description = "Truncation of reviews.")
    int textTokens;

    @Option(
            names = "--hand-prompt",
            defaultValue = "the sentiment of this movie review is",
            description = "The hand-written starting prompt (default '${DEFAULT-VALUE}').")
    String handPrompt;

    @Option(names = "--no-transfer", description = "Skip the transfer to bge-small-en-v1.5.")
    boolean noTransfer;

    @Option(
            names = "--imdb",
            description = "reviews.json (default: where scripts/fetch-datasets.sh puts it).")
    Path imdb;

    @Override
    public Integer call() throws Exception {
        if (quickOption.quick()) {
            trainPerClient = 16;
            test = 100;
            rounds = 2;
            budget = 240;
            batch = 8;
        }
        Path out = outOption.out();
        long t0 = System.nanoTime();
        Path file = imdb != null ? imdb : ImdbReviews.locate();
        List<ImdbReviews.Review> all = ImdbReviews.read(file);
        FedDtptExperiment.Settings s =
                new FedDtptExperiment.Settings(
                        clients,
                        alpha,
                        trainPerClient,
                        publicPerClass,
                        test,
                        rounds,
                        budget,
                        batch,
                        neighbours,
                        promptTokens,
                        textTokens,
                        handPrompt,
                        !noTransfer,
                        seedOption.seed());
        FedDtptExperiment.Result result = FedDtptExperiment.run(s, all, System.out);
        double seconds = (System.nanoTime() - t0) / 1e9;
        String command =
                String.format(
                        Locale.ROOT,
                        "./fedstream experiment feddtpt --rounds %d --seed %d --clients %d --dirichlet %s"
                                + " --train-per-client %d --public-per-class %d --test %d --budget %d --batch %d"
                                + " --neighbours %d --prompt-tokens %d --text-tokens %d%s",
                        rounds,
                        seedOption.seed(),
                        clients,
                        alpha,
                        trainPerClient,
                        publicPerClass,
                        test,
                        budget,
                        batch,
                        neighbours,
                        promptTokens,
                        textTokens,
                        noTransfer ? " --no-transfer" : "");
        String md = FedDtptExperiment.markdown(result, s, command, seconds);
        System.out.println();
        System.out.println(md);
        Files.createDirectories(out);
        Files.writeString(out.resolve("feddtpt.md"), md);
        Files.writeString(out.resolve("feddtpt.csv"), FedDtptExperiment.csv(result));
        System.out.printf(
                Locale.ROOT,
                "wall time %.1f s; report in %s (feddtpt.md, feddtpt.csv)%n",
                seconds,
                out.toAbsolutePath());
        return 0;
    }
}
