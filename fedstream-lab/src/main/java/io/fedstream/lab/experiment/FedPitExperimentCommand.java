package io.fedstream.lab.experiment;

import io.fedstream.lab.options.LoraOptions;
import io.fedstream.lab.options.MedQuadOption;
import io.fedstream.lab.options.OutOption;
import io.fedstream.lab.options.QuickOption;
import io.fedstream.lab.options.SeedOption;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.decoder.DecoderPretraining;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./fedstream experiment fedpit}: FedPIT on MedQuAD with a small decoder pretrained here.
 */
@Command(
        name = "fedpit",
        mixinStandardHelpOptions = true,
        description = {
            "FedPIT (parameter-isolated federated instruction tuning on self-generated synthetic"
                    + " data) on MedQuAD: sites = NIH websites with a few private examples each;"
                    + " local-only vs FedIT (= FedPIT beta 1) vs FedPIT (beta 0, 0.5) vs"
                    + " centralised, held-out answer loss per site; extraction of private"
                    + " examples by greedy decoding with the published global adapter; ROUGE-L of"
                    + " the synthetic data against the private data. The base model, a small"
                    + " Llama-style decoder, is pretrained first on MedQuAD sources that are no"
                    + " site's data (reused from --base-dir when its settings match). --quick: a"
                    + " 60-step base, 2 sites of 6 examples, 1 round, 4 candidates, 8 probes."
        })
final class FedPitExperimentCommand implements Callable<Integer> {

    @Mixin SeedOption seedOption;

    @Mixin OutOption outOption;

    @Mixin QuickOption quickOption;

    @Mixin MedQuadOption medQuad;

    @Option(
            names = "--pretrain-sources",
            defaultValue = "GARD,GHR",
            split = ",",
            description =
                    "MedQuAD sources the base model is pretrained on; no site uses them (default ${DEFAULT-VALUE}).")
    List<String> pretrainSources;

    @Option(
            names = "--sites",
            split = ",",
            description = "Site sources (default: every other source).")
    List<String> siteSources;

    @Option(
            names = "--train-per-site",
            defaultValue = "12",
            description = "Private training examples per site (default ${DEFAULT-VALUE}).")
    int trainPerSite;

    @Option(
            names = "--test-per-site",
            defaultValue = "16",
            description = "Held-out examples per site (default ${DEFAULT-VALUE}).")
    int testPerSite;

    @Option(
            names = "--rounds",
            defaultValue = "3",
            description = "Federated rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(
            names = "--local-epochs",
            defaultValue = "2",
            description = "Epochs of the global adapter per round (default ${DEFAULT-VALUE}).")
    int localEpochs;

    @Option(
            names = "--local-adapter-epochs",
            defaultValue = "2",
            description =
                    "Epochs of FedPIT's private adapter per round (default ${DEFAULT-VALUE}).")
    int localAdapterEpochs;

    @Option(
            names = "--lr",
            defaultValue = "1e-2",
            description = "Adam learning rate of the adapters (default ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(
            names = "--batch-size",
            defaultValue = "4",
            description = "Mini-batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--max-tokens",
            defaultValue = "128",
            description = "Longest tokenised example (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin LoraOptions lora;

    @Option(
            names = "--targets",
            defaultValue = "q,v",
            description = "LoRA target modules (default ${DEFAULT-VALUE}).")
    String targets;

    @Option(
            names = "--candidates",
            defaultValue = "16",
            description =
                    "Synthetic candidates per site and round (paper: 32; default ${DEFAULT-VALUE}).")
    int candidates;

    @Option(
            names = "--keep",
            defaultValue = "8",
            description = "Candidates kept by IFS (paper: 16; default ${DEFAULT-VALUE}).")
    int keep;

    @Option(
            names = "--betas",
            defaultValue = "0,0.5",
            split = ",",
            description = "FedPIT β values to run (default ${DEFAULT-VALUE}).")
    List<Double> betas;

    @Option(
            names = "--methods",
            defaultValue = "local,fedit,fedpit,central",
            split = ",",
            description = "Methods (default ${DEFAULT-VALUE}).")
    List<String> methods;

    @Option(
            names = "--extraction",
            defaultValue = "100",
            description =
                    "Private (and as many held-out) examples probed for extraction (default ${DEFAULT-VALUE}).")
    int extraction;

    @Option(
            names = "--extraction-tokens",
            defaultValue = "48",
            description =
                    "Greedy tokens per probe, and the longest synthetic answer (default ${DEFAULT-VALUE}).")
    int extractionTokens;

    @Option(
            names = "--vocab",
            defaultValue = "3000",
            description = "Base model: word vocabulary (default ${DEFAULT-VALUE}).")
    int vocab;

    @Option(
            names = "--hidden",
            defaultValue = "64",
            description = "Base model: hidden size (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(
            names = "--layers",
            defaultValue = "2",
            description = "Base model: layers (default ${DEFAULT-VALUE}).")
    int layers;

    @Option(
            names = "--heads",
            defaultValue = "4",
            description = "Base model: attention heads (default ${DEFAULT-VALUE}).")
    int heads;

    @Option(
            names = "--context",
            defaultValue = "320",
            description = "Base model: positions (default ${DEFAULT-VALUE}).")
    int context;

    @Option(
            names = "--pack",
            defaultValue = "192",
            description = "Base model: pretraining sequence length (default ${DEFAULT-VALUE}).")
    int pack;

    @Option(
            names = "--pretrain-steps",
            defaultValue = "600",
            description = "Base model: pretraining steps (default ${DEFAULT-VALUE}).")
    long pretrainSteps;

    @Option(
            names = "--pretrain-lr",
            defaultValue = "3e-3",
            description = "Base model: pretraining learning rate (default ${DEFAULT-VALUE}).")
    double pretrainLr;

    @Option(
            names = "--pretrain-batch",
            defaultValue = "8",
            description = "Base model: pretraining batch (default ${DEFAULT-VALUE}).")
    int pretrainBatch;

    @Option(
            names = "--base-dir",
            description = "Where the base model is kept and reused (default: --out/base).")
    Path baseDir;

    @Override
    public Integer call() throws Exception {
        long seed = seedOption.seed();
        Path out = outOption.out();
        if (quickOption.quick()) {
            pretrainSteps = 60;
            vocab = 2000;
            trainPerSite = 6;
            testPerSite = 6;
            rounds = 1;
            localEpochs = 1;
            localAdapterEpochs = 1;
            candidates = 4;
            keep = 2;
            extraction = 8;
            extractionTokens = 24;
            if (siteSources == null) {
                siteSources = List.of("CDC", "NINDS");
            }
        }
        long t0 = System.nanoTime();
        List<InstructionExample> all = medQuad.readAll();
        Map<String, List<InstructionExample>> bySource = new LinkedHashMap<>();
        for (InstructionExample e : all) {
            bySource.computeIfAbsent(e.source(), k -> new ArrayList<>()).add(e);
        }
        for (String p : pretrainSources) {
            if (!bySource.containsKey(p)) {
                System.err.println("unknown source " + p + "; sources: " + bySource.keySet());
                return 2;
            }
        }
        List<String> sites =
                siteSources != null
                        ? siteSources
                        : bySource.keySet().stream()
                                .filter(x -> !pretrainSources.contains(x))
                                .toList();
        for (String site : sites) {
            if (!bySource.containsKey(site) || pretrainSources.contains(site)) {
                System.err.println("site " + site + " is not a source or is pretraining data");
                return 2;
            }
        }
        List<InstructionExample> corpus = new ArrayList<>();
        pretrainSources.forEach(p -> corpus.addAll(bySource.get(p)));
        Map<String, List<InstructionExample>> train = new LinkedHashMap<>();
        Map<String, List<InstructionExample>> test = new LinkedHashMap<>();
        for (String site : sites) {
            List<InstructionExample> xs = bySource.get(site);
            int[] order = Sampling.range(xs.size());
            Sampling.shuffle(
                    order, new SplittableRandom(Sampling.streamSeed(seed, site.hashCode())));
            List<InstructionExample> te = new ArrayList<>();
            List<InstructionExample> tr = new ArrayList<>();
            for (int i = 0; i < Math.min(order.length, testPerSite + trainPerSite); i++) {
                (i < testPerSite ? te : tr).add(xs.get(order[i]));
            }
            train.put(site, tr);
            test.put(site, te);
        }
        System.out.printf(
                Locale.ROOT,
                "MedQuAD: %d examples; base pretrained on %s (%d examples); sites %s with %d"
                        + " private and %d held-out examples each (seed %d)%n",
                all.size(),
                pretrainSources,
                corpus.size(),
                sites,
                trainPerSite,
                testPerSite,
                seed);
        FedPitExperiment.BaseSettings base =
                new FedPitExperiment.BaseSettings(
                        List.copyOf(pretrainSources),
                        vocab,
                        hidden,
                        layers,
                        heads,
                        context,
                        pack,
                        pretrainSteps,
                        pretrainLr,
                        pretrainBatch,
                        seed);
        Path dir = baseDir != null ? baseDir : out.resolve("base");
        DecoderPretraining.Result pre = FedPitExperiment.base(base, corpus, dir, System.out);
        FedPitExperiment.Settings settings =
                new FedPitExperiment.Settings(
                        base,
                        sites,
                        trainPerSite,
                        testPerSite,
                        rounds,
                        localEpochs,
                        batchSize,
                        learningRate,
                        maxTokens,
                        lora.rank(),
                        lora.alpha(),
                        targets,
                        candidates,
                        keep,
                        localAdapterEpochs,
                        List.copyOf(betas),
                        List.copyOf(methods),
                        extraction,
                        extractionTokens,
                        seed);
        Files.createDirectories(out);
        FedPitExperiment.Result result =
                FedPitExperiment.run(settings, train, test, dir, out, pre, System.out);
        double seconds = (System.nanoTime() - t0) / 1e9;
        String md = FedPitExperiment.markdown(result, settings, command(), seconds);
        System.out.println();
        System.out.println(md);
        Files.writeString(out.resolve("fedpit.md"), md);
        FedPitExperiment.writeSynthetic(out.resolve("synthetic.jsonl"), result.synthetic());
        System.out.printf(
                Locale.ROOT,
                "wall time %.1f s; report in %s (fedpit.md, synthetic.jsonl)%n",
                seconds,
                out.toAbsolutePath());
        return 0;
    }

    private String command() {
        List<String> parts = new ArrayList<>();
        if (quickOption.quick()) {
            parts.add("--quick");
        } else {
            parts.addAll(
                    Arrays.asList(
                            "--train-per-site " + trainPerSite,
                            "--test-per-site " + testPerSite,
                            "--rounds " + rounds,
                            "--local-epochs " + localEpochs,
                            "--local-adapter-epochs " + localAdapterEpochs,
                            "--lr " + learningRate,
                            "--candidates " + candidates,
                            "--keep " + keep,
                            "--betas "
                                    + betas.stream()
                                            .map(String::valueOf)
                                            .collect(Collectors.joining(",")),
                            "--pretrain-steps " + pretrainSteps,
                            "--hidden " + hidden,
                            "--layers " + layers,
                            "--seed " + seedOption.seed()));
        }
        return "./fedstream experiment fedpit " + String.join(" ", parts);
    }
}
