package io.fedstream.lab.experiment;

import io.fedstream.cli.LocalTasks;
import io.fedstream.lab.options.LoraOptions;
import io.fedstream.lab.options.MedQuadOption;
import io.fedstream.lab.options.OutOption;
import io.fedstream.lab.options.QuickOption;
import io.fedstream.lab.options.SeedOption;
import io.fedstream.worker.data.ByField;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.Partition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream experiment fedit}: FedIT on MedQuAD with the real MiniLM + LoRA (question
 * type, or with {@code --task retrieval} the default task of {@code ./fedstream local}).
 */
@Command(
        name = "fedit",
        mixinStandardHelpOptions = true,
        description = {
            "FedIT on MedQuAD (sites = NIH websites) with all-MiniLM-L6-v2 + LoRA: question-type"
                    + " classification, local-only vs synchronous FedAvg vs asynchronous"
                    + " staleness-weighted vs centralised; --task retrieval: question-to-answer"
                    + " retrieval, the default task of ./fedstream local. Writes fedit.md,"
                    + " fedit.csv, fedit-curve.csv and fedit.png (fedit-retrieval.md) to --out."
                    + " --quick: 16 training and 8 held-out examples per site, 2 rounds of 1 epoch."
        })
final class FedItExperimentCommand implements Callable<Integer> {

    @Mixin SeedOption seedOption;

    @Mixin OutOption outOption;

    @Mixin QuickOption quickOption;

    @Mixin MedQuadOption medQuad;

    @Option(
            names = "--sites-cap",
            defaultValue = "120",
            description = "Training examples per site, at most (default ${DEFAULT-VALUE}).")
    int sitesCap;

    @Option(
            names = "--test-per-site",
            defaultValue = "40",
            description =
                    "Held-out examples per site, fixed by the seed (default ${DEFAULT-VALUE}).")
    int testPerSite;

    @Option(
            names = "--rounds",
            defaultValue = "5",
            description = "Federated rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(
            names = "--local-epochs",
            defaultValue = "2",
            description = "Local epochs per round (default ${DEFAULT-VALUE}).")
    int localEpochs;

    @Option(
            names = "--lr",
            defaultValue = "3e-3",
            description = "Adam learning rate (default ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(
            names = "--batch-size",
            defaultValue = "16",
            description = "Mini-batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--max-tokens",
            defaultValue = "32",
            description =
                    "Truncation length of the questions in tokens (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin LoraOptions lora;

    @Option(
            names = "--lora-dropout",
            defaultValue = "0.05",
            description = "LoRA dropout (default ${DEFAULT-VALUE}).")
    double dropout;

    @Option(
            names = "--targets",
            defaultValue = "query,value",
            description = "LoRA target modules (default ${DEFAULT-VALUE}).")
    String targets;

    @Option(
            names = "--lora-from-layer",
            defaultValue = "0",
            description =
                    "First encoder layer with adapters; layers below stay plain (default"
                            + " ${DEFAULT-VALUE}: all layers).")
    int fromLayer;

    @Option(
            names = "--fast-training",
            description =
                    "Cache the frozen layers' outputs and bucket batches by length (same deltas;"
                            + " batches are composed differently, so results differ from a run"
                            + " without it). See docs/benchmarks.md.")
    boolean fastTraining;

    @Option(
            names = "--quorum",
            defaultValue = "0",
            description = "Async: updates per aggregation (0: half the sites, rounded up).")
    int quorum;

    @Option(
            names = "--ticks",
            defaultValue = "0",
            description =
                    "Async: length of the run in ticks (0: about as many local rounds as FedAvg).")
    int ticks;

    @Option(
            names = "--staleness-exponent",
            defaultValue = "0.5",
            description =
                    "Async: a in the weight examples * (1 + s)^-a (default ${DEFAULT-VALUE}).")
    double stalenessExponent;

    @Option(
            names = "--methods",
            defaultValue = "local,fedavg,async,central",
            split = ",",
            description = "Methods to run (default ${DEFAULT-VALUE}).")
    List<String> methods;

    @Option(
            names = "--task",
            defaultValue = "qtype",
            description =
                    "fedit: qtype (question-type classification, the earlier task) or retrieval"
                            + " (question-to-answer retrieval, the default task of ./fedstream"
                            + " local; methods local, fedavg, central) (default ${DEFAULT-VALUE}).")
    String task;

    @Override
    public Integer call() throws Exception {
        if (!"qtype".equals(task) && !"retrieval".equals(task)) {
            throw new IllegalArgumentException("--task must be qtype or retrieval, not " + task);
        }
        long seed = seedOption.seed();
        Path out = outOption.out();
        if (quickOption.quick()) {
            sitesCap = 16;
            testPerSite = 8;
            rounds = 2;
            localEpochs = 1;
        }
        long t0 = System.nanoTime();
        List<InstructionExample> all = medQuad.readAll();
        if ("retrieval".equals(task)) {
            String md =
                    FedItRetrieval.run(
                            all,
                            sitesCap,
                            testPerSite,
                            rounds,
                            localEpochs,
                            learningRate,
                            seed,
                            methods,
                            LocalTasks.defaultCacheDir().resolve("embeddings"),
                            System.out);
            double seconds = (System.nanoTime() - t0) / 1e9;
            String report =
                    "```\n./fedstream experiment fedit --task retrieval "
                            + String.format(
                                    Locale.ROOT,
                                    "--sites-cap %d --test-per-site %d --rounds %d --local-epochs %d"
                                            + " --lr %s --seed %d --methods %s",
                                    sitesCap,
                                    testPerSite,
                                    rounds,
                                    localEpochs,
                                    learningRate,
                                    seed,
                                    String.join(",", methods))
                            + "\n```\n\n"
                            + md
                            + String.format(Locale.ROOT, "%n%.0f s%n", seconds);
            System.out.println(report);
            Files.createDirectories(out);
            Files.writeString(out.resolve("fedit-retrieval.md"), report);
            return 0;
        }
        Partition sites = ByField.of(InstructionExample.SOURCE).partition(all);
        Partition[] split = FedItExperiment.split(sites, testPerSite, sitesCap, seed);
        System.out.printf(
                Locale.ROOT,
                "MedQuAD: %d examples, %d sites; per site %d held out, at most %d for training"
                        + " (seed %d)%n",
                all.size(),
                sites.numSites(),
                testPerSite,
                sitesCap,
                seed);
        System.out.println(split[0].table(InstructionExample.CATEGORY));
        FedItExperiment.Settings settings = settings();
        FedItExperiment.Result result =
                FedItExperiment.run(
                        settings, split[0], split[1], InstructionExample.CATEGORY, System.out);
        double seconds = (System.nanoTime() - t0) / 1e9;
        String command = "./fedstream experiment fedit " + describe();
        String md = FedItReport.markdown(result, settings, command, seconds);
        System.out.println();
        System.out.println(md);
        Files.createDirectories(out);
        Files.writeString(out.resolve("fedit.md"), md);
        FedItReport.writeCsv(out.resolve("fedit.csv"), result);
        FedItReport.writeCurveCsv(out.resolve("fedit-curve.csv"), result);
        FedItReport.writeChart(
                out.resolve("fedit.png"),
                result,
                String.format(
                        Locale.ROOT,
                        "FedIT on MedQuAD: %d sites, <= %d train + %d test each, %d rounds x %d"
                                + " epochs, lr %s, seed %d",
                        sites.numSites(),
                        sitesCap,
                        testPerSite,
                        rounds,
                        localEpochs,
                        learningRate,
                        seed));
        System.out.printf(
                Locale.ROOT,
                "wall time %.1f s; report in %s (fedit.md, fedit.csv, fedit-curve.csv,"
                        + " fedit.png)%n",
                seconds,
                out.toAbsolutePath());
        return 0;
    }

    FedItExperiment.Settings settings() {
        return new FedItExperiment.Settings(
                rounds,
                localEpochs,
                batchSize,
                maxTokens,
                learningRate,
                lora.rank(),
                lora.alpha(),
                dropout,
                targets,
                quorum,
                ticks,
                stalenessExponent,
                seedOption.seed(),
                List.copyOf(methods),
                fromLayer,
                fastTraining);
    }

    private String describe() {
        List<String> parts = new ArrayList<>();
        parts.addAll(
                Arrays.asList(
                        "--sites-cap " + sitesCap,
                        "--test-per-site " + testPerSite,
                        "--rounds " + rounds,
                        "--local-epochs " + localEpochs,
                        "--seed " + seedOption.seed(),
                        "--lr " + learningRate,
                        "--batch-size " + batchSize,
                        "--max-tokens " + maxTokens,
                        "--rank " + lora.rank(),
                        "--alpha " + lora.alpha(),
                        "--lora-dropout " + dropout,
                        "--targets " + targets,
                        "--methods " + String.join(",", methods)));
        if (quorum > 0) {
            parts.add("--quorum " + quorum);
        }
        if (ticks > 0) {
            parts.add("--ticks " + ticks);
        }
        parts.add("--staleness-exponent " + stalenessExponent);
        if (fromLayer > 0) {
            parts.add("--lora-from-layer " + fromLayer);
        }
        if (fastTraining) {
            parts.add("--fast-training");
        }
        return String.join(" ", parts);
    }
}
