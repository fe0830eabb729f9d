package io.fedstream.cli;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.data.AlpacaJsonl;
import io.fedstream.worker.data.ByField;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.MedQuad;
import io.fedstream.worker.data.Partition;
import io.fedstream.worker.data.Site;
import io.fedstream.worker.model.BertClassifier;
import io.fedstream.worker.model.BertEncoder;
import io.fedstream.worker.model.BertSiteTrainer;
import io.fedstream.worker.model.LoraBert;
import io.fedstream.worker.model.LoraConfig;
import io.fedstream.worker.model.MiniLm;
import io.fedstream.worker.train.Sampling;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import picocli.CommandLine.Option;

/**
 * The options of a site that tunes the real pretrained model: all-MiniLM-L6-v2 (offline, from its
 * Maven jar) with LoRA adapters and a linear head, classifying instructions of a JSON-lines dataset
 * (MedQuAD by default) by a label field, the sites being the values of another field. Shared by
 * {@code worker --model minilm} and {@code spec --model minilm}, so that both derive the same
 * labels, adapter layout and version 0 from the same options.
 *
 * <p>Every site reads the whole file, partitions it by {@code --site-field} (sites in the order of
 * first appearance) and takes site {@code --site-index}; each site keeps {@code --test-per-site}
 * held-out examples and at most {@code --train-cap} training examples, drawn with the seed exactly
 * as {@code ./fedstream experiment fedit} draws them. The label set is the sorted set of label
 * values over the whole file, so every site and the spec agree on the head's classes.
 */
final class InstructionSites {
    /** The demo task (synthetic data, LoRA on a small frozen MLP). */
    static final String MLP = "mlp";

    /** all-MiniLM-L6-v2 + LoRA + head on instruction data. */
    static final String MINILM = "minilm";

    @Option(
            names = "--model",
            defaultValue = MLP,
            description =
                    "What the site trains: mlp (the demo task, synthetic data) or minilm"
                            + " (all-MiniLM-L6-v2 + LoRA classifying instructions of --data)"
                            + " (default ${DEFAULT-VALUE}).")
    String model;

    @Option(
            names = "--data",
            description =
                    "minilm: a MedQuAD file (medquad.jsonl.gz; default: found as MedQuad.locate()"
                            + " does) or Alpaca/Dolly-style JSON lines.")
    Path data;

    @Option(
            names = "--site-field",
            defaultValue = InstructionExample.SOURCE,
            description =
                    "minilm: the field whose values are the sites (default ${DEFAULT-VALUE}).")
    String siteField;

    @Option(
            names = "--label-field",
            defaultValue = InstructionExample.CATEGORY,
            description = "minilm: the field to classify (default ${DEFAULT-VALUE}).")
    String labelField;

    @Option(
            names = "--train-cap",
            defaultValue = "120",
            description = "minilm: training examples per site, at most (default ${DEFAULT-VALUE}).")
    int trainCap;

    @Option(
            names = "--test-per-site",
            defaultValue = "40",
            description = "minilm: held-out examples per site (default ${DEFAULT-VALUE}).")
    int testPerSite;

    @Option(
            names = "--lora-rank",
            defaultValue = "8",
            description = "minilm: LoRA rank (default ${DEFAULT-VALUE}).")
    int loraRank;

    @Option(
            names = "--lora-alpha",
            defaultValue = "16",
            description = "minilm: LoRA alpha (default ${DEFAULT-VALUE}).")
    double loraAlpha;

    @Option(
            names = "--lora-dropout",
            defaultValue = "0.05",
            description = "minilm: LoRA dropout (default ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(
            names = "--lora-targets",
            defaultValue = "query,value",
            description =
                    "minilm: adapted layers, of query, key, value, attention_output, intermediate,"
                            + " output (default ${DEFAULT-VALUE}).")
    String loraTargets;

    @Option(
            names = "--lora-freeze-a",
            description =
                    "minilm: FFA-LoRA, train only B (A stays at version 0's value), so the job's"
                            + " FedAvg is exactly the mean of the sites' products B·A.")
    boolean freezeA;

    @Option(
            names = "--max-tokens",
            defaultValue = "32",
            description = "minilm: tokens per instruction (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(
            names = "--batch-size",
            defaultValue = "16",
            description = "minilm: mini-batch size (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--local-epochs",
            defaultValue = "2",
            description =
                    "minilm: passes over the local data per version (default ${DEFAULT-VALUE}).")
    int localEpochs;

    @Option(
            names = "--lr",
            defaultValue = "3e-3",
            description = "minilm: Adam learning rate (default ${DEFAULT-VALUE}).")
    double learningRate;

    /** One site's part of the dataset, with the federation-wide label set. */
    record SiteData(String name, Site train, Site test, List<String> labels, int sites) {}

    boolean isMiniLm() {
        if (model.equals(MINILM)) {
            return true;
        }
        if (model.equals(MLP)) {
            return false;
        }
        throw new IllegalArgumentException("--model must be " + MLP + " or " + MINILM);
    }

    LoraConfig lora() {
        return new LoraConfig(
                loraRank, loraAlpha, loraDropout, LoraConfig.parseTargets(loraTargets), freezeA);
    }

    /** Reads the dataset and returns site {@code index}. */
    SiteData site(int index, long seed) {
        List<InstructionExample> all = read();
        Partition sites = ByField.of(siteField).partition(all);
        if (index < 0 || index >= sites.numSites()) {
            throw new IllegalArgumentException(
                    "--site-index "
                            + index
                            + " but the data has "
                            + sites.numSites()
                            + " sites by "
                            + siteField
                            + ": "
                            + sites.names());
        }
        Partition[] split = FedItExperiment.split(sites, testPerSite, trainCap, seed);
        return new SiteData(
                sites.names().get(index),
                split[0].sites().get(index),
                split[1].sites().get(index),
                labels(all),
                sites.numSites());
    }

    /** The spec every site of this dataset and these options trains against. */
    FederationSpec spec(String federation, long seed) throws IOException {
        List<String> labels = labels(read());
        try (LoraBert m = model(labels.size(), seed)) {
            return m.adapterSpec(federation, seed);
        }
    }

    /** A trainer for site {@code index} (owns its model). */
    BertSiteTrainer trainer(SiteData site, long seed) throws IOException {
        Map<String, Integer> index = new LinkedHashMap<>();
        for (int i = 0; i < site.labels().size(); i++) {
            index.put(site.labels().get(i), i);
        }
        LoraBert m = model(site.labels().size(), seed);
        try (HuggingFaceTokenizer tokenizer = MiniLm.tokenizer(maxTokens)) {
            return new BertSiteTrainer(
                    m,
                    true,
                    tokenizer,
                    FedItExperiment.labelled(site.train(), labelField, index),
                    FedItExperiment.labelled(site.test(), labelField, index),
                    new BertSiteTrainer.Options(
                            maxTokens,
                            batchSize,
                            localEpochs,
                            learningRate,
                            Sampling.streamSeed(seed, site.name().hashCode())));
        } catch (RuntimeException | IOException e) {
            m.close();
            throw e;
        }
    }

    /** A site id for Kafka, keys and ACLs: the site's name in lower case, spaces as dashes. */
    static String siteId(String name) {
        return name.strip().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]+", "-");
    }

    private LoraBert model(int classes, long seed) throws IOException {
        return new LoraBert(new BertClassifier(BertEncoder.miniLm(lora()), classes), seed);
    }

    private List<InstructionExample> read() {
        if (data == null) {
            return MedQuad.readAll();
        }
        String name = data.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.startsWith("medquad") || data.toFile().isDirectory()
                ? MedQuad.readAll(MedQuad.locate(data))
                : AlpacaJsonl.readAll(data);
    }

    private List<String> labels(List<InstructionExample> all) {
        TreeSet<String> set = new TreeSet<>();
        for (InstructionExample e : all) {
            set.add(FedItExperiment.label(e, labelField));
        }
        return List.copyOf(set);
    }
}
