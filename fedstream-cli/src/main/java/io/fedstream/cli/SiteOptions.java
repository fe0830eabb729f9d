package io.fedstream.cli;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.bert.BertClassifier;
import io.fedstream.worker.bert.BertEncoder;
import io.fedstream.worker.bert.BertSiteTrainer;
import io.fedstream.worker.bert.LoraBert;
import io.fedstream.worker.bert.LoraConfig;
import io.fedstream.worker.bert.MiniLm;
import io.fedstream.worker.data.AlpacaJsonl;
import io.fedstream.worker.data.ByField;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.MedQuad;
import io.fedstream.worker.data.Partition;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.data.Site;
import io.fedstream.worker.decoder.CausalLm;
import io.fedstream.worker.decoder.CausalLmSiteTrainer;
import io.fedstream.worker.decoder.CausalTraining;
import io.fedstream.worker.decoder.ChatTemplate;
import io.fedstream.worker.decoder.DecoderCheckpoint;
import io.fedstream.worker.decoder.DecoderConfig;
import io.fedstream.worker.decoder.DecoderLora;
import io.fedstream.worker.decoder.LoraCausalLm;
import io.fedstream.worker.fedpit.ChatCompletionsGenerator;
import io.fedstream.worker.fedpit.FedPitSiteTrainer;
import io.fedstream.worker.fedpit.SelfInstruct;
import io.fedstream.worker.fedpit.TextGenerator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;
import picocli.CommandLine.Option;

/**
 * What a site trains, shared by {@code worker} (which trains it) and {@code spec} (which writes the
 * federation's contract for it), so that both derive the same adapter layout and version 0 from the
 * same options:
 *
 * <ul>
 *   <li>{@code --model mlp} (default): the demo task, LoRA on a small frozen MLP, synthetic data.
 *   <li>{@code --model minilm}: the real pretrained all-MiniLM-L6-v2 (offline, from its Maven jar)
 *       with LoRA adapters and a linear head, classifying the instructions of a JSON-lines dataset
 *       (MedQuAD by default) by a label field, the sites being the values of another field.
 *   <li>{@code --decoder DIR}: a local Hugging Face causal LM (GPT-2 or Llama family) with LoRA,
 *       instruction-tuned on the site's own {@code --data} file (loss on the answer tokens).
 * </ul>
 *
 * <p>MiniLM: every site reads the whole file, partitions it by {@code --site-field} (sites in the
 * order of first appearance) and takes site {@code --site-index}; each site keeps {@code
 * --test-per-site} held-out examples and at most {@code --train-cap} training examples, drawn with
 * the seed exactly as {@code ./fedstream experiment fedit} draws them. The label set is the sorted
 * set of label values over the whole file, so every site and the spec agree on the head's classes.
 *
 * <p>Training options given no value take the model's default (named in each description).
 */
final class InstructionSites {
    /** The demo task (synthetic data, LoRA on a small frozen MLP). */
    static final String MLP = "mlp";

    /** all-MiniLM-L6-v2 + LoRA + head on instruction data. */
    static final String MINILM = "minilm";

    /**
     * all-MiniLM-L6-v2 + LoRA tuned for MedQuAD question-to-answer retrieval: the default task of
     * {@code ./fedstream local}, one site of it.
     */
    static final String RETRIEVAL = "retrieval";

    /** A local Hugging Face causal LM ({@code --decoder}). */
    static final String DECODER = "decoder";

    @Option(
            names = "--model",
            defaultValue = MLP,
            description =
                    "What the site trains: mlp (the demo task, synthetic data), retrieval"
                            + " (all-MiniLM-L6-v2 + LoRA for MedQuAD question-to-answer retrieval,"
                            + " the default task of ./fedstream local), minilm (all-MiniLM-L6-v2 +"
                            + " LoRA classifying instructions of --data by --label-field) or"
                            + " decoder (implied by --decoder) (default ${DEFAULT-VALUE}).")
    String model;

    @Option(
            names = "--decoder",
            description =
                    "A local Hugging Face causal LM directory (GPT-2, Llama 2/3.x, SmolLM2, Qwen2/2.5"
                            + " or Mistral: config.json, model.safetensors or its shards,"
                            + " tokenizer.json), instruction-tuned with LoRA on --data, in its chat"
                            + " template when tokenizer_config.json has a Llama 3 or ChatML one. No"
                            + " pretrained causal LM ships with FedStream; nothing is downloaded.")
    Path decoder;

    @Option(
            names = "--data",
            description =
                    "minilm: a MedQuAD file (medquad.jsonl.gz; default: found as MedQuad.locate()"
                            + " does) or Alpaca/Dolly-style JSON lines, split into sites by"
                            + " --site-field; decoder: this site's own Alpaca/Dolly JSON lines.")
    Path data;

    @Option(
            names = "--eval-fraction",
            defaultValue = "0.1",
            description =
                    "decoder: share of --data held out for evaluation, chosen by --seed (default"
                            + " ${DEFAULT-VALUE}).")
    double evalFraction;

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
            description =
                    "minilm, retrieval: training examples per site, at most (default: minilm 120,"
                            + " retrieval 32 as in ./fedstream local).")
    Integer trainCap;

    @Option(
            names = "--test-per-site",
            defaultValue = "40",
            description = "minilm: held-out examples per site (default ${DEFAULT-VALUE}).")
    int testPerSite;

    @Option(
            names = "--lora-rank",
            defaultValue = "8",
            description = "LoRA rank (default ${DEFAULT-VALUE}).")
    int loraRank;

    @Option(
            names = "--lora-alpha",
            defaultValue = "16",
            description = "LoRA alpha (default ${DEFAULT-VALUE}).")
    double loraAlpha;

    @Option(
            names = "--lora-dropout",
            defaultValue = "0.05",
            description = "LoRA dropout (default ${DEFAULT-VALUE}).")
    double loraDropout;

    @Option(
            names = "--lora-targets",
            description =
                    "Adapted layers. minilm: of query, key, value, attention_output, intermediate,"
                            + " output (default query,value); decoder: of q_proj, k_proj, v_proj,"
                            + " o_proj, gate_proj (not GPT-2), up_proj, down_proj (default"
                            + " q_proj,v_proj).")
    String loraTargets;

    @Option(
            names = "--lora-freeze-a",
            description =
                    "minilm: FFA-LoRA, train only B (A stays at version 0's value), so the job's"
                            + " FedAvg is exactly the mean of the sites' products B·A.")
    boolean freezeA;

    @Option(
            names = "--max-tokens",
            description =
                    "Tokens per example (default: minilm 32, decoder 256, at most the decoder's"
                            + " positions).")
    Integer maxTokens;

    @Option(
            names = "--batch-size",
            description = "Mini-batch size (default: minilm 16, decoder 4).")
    Integer batchSize;

    @Option(
            names = "--local-epochs",
            description = "Passes over the local data per version (default: minilm 2, decoder 1).")
    Integer localEpochs;

    @Option(
            names = "--lr",
            description = "Adam learning rate (default: minilm 3e-3, decoder 2e-4).")
    Double learningRate;

    @Option(
            names = "--fedpit",
            description =
                    "decoder: FedPIT. The shared adapter trains only on synthetic data the site"
                            + " generates from its --data each round (self-instruct); a private"
                            + " local adapter, trained on --data plus the synthetic data, stays in"
                            + " --local-adapter and is never sent.")
    boolean fedpit;

    @Option(
            names = "--beta",
            defaultValue = "0",
            description =
                    "fedpit: sent = beta * local-trained + (1 - beta) * synthetic-trained delta; 0"
                            + " is strict isolation, 1 plain FedIT (default ${DEFAULT-VALUE}).")
    double beta;

    @Option(
            names = "--local-adapter",
            description =
                    "fedpit: file of the private local adapter (safetensors; created if missing;"
                            + " default local-adapter-<site>.safetensors).")
    Path localAdapter;

    @Option(
            names = "--candidates",
            defaultValue = "32",
            description =
                    "fedpit: synthetic candidates generated per round (default ${DEFAULT-VALUE}).")
    int candidates;

    @Option(
            names = "--keep",
            defaultValue = "16",
            description =
                    "fedpit: candidates kept per round, the best by instruction-following score"
                            + " (default ${DEFAULT-VALUE}).")
    int keep;

    @Option(
            names = "--local-adapter-epochs",
            defaultValue = "1",
            description =
                    "fedpit: epochs of the local adapter per round (default ${DEFAULT-VALUE}).")
    int localAdapterEpochs;

    @Option(
            names = "--generator-url",
            description =
                    "fedpit: generate with an OpenAI-compatible chat-completions server at this"
                            + " base URL (e.g. http://localhost:8000/v1 for vLLM) instead of the"
                            + " site's own decoder; API key from $FEDSTREAM_GENERATOR_API_KEY.")
    java.net.URI generatorUrl;

    @Option(
            names = "--generator-model",
            defaultValue = "default",
            description = "fedpit: model name sent to --generator-url (default ${DEFAULT-VALUE}).")
    String generatorModel;

    /** One MiniLM site's part of the dataset, with the federation-wide label set. */
    record SiteData(String name, Site train, Site test, List<String> labels, int sites) {}

    /** {@link #MLP}, {@link #MINILM} or {@link #DECODER}, checked against the other options. */
    String kind() {
        if (decoder != null) {
            if (!model.equals(MLP) && !model.equals(DECODER)) {
                throw new IllegalArgumentException("--decoder and --model " + model + " conflict");
            }
            if (freezeA) {
                throw new IllegalArgumentException("--lora-freeze-a is for --model minilm");
            }
            return DECODER;
        }
        if (fedpit) {
            throw new IllegalArgumentException("--fedpit needs --decoder DIR");
        }
        if (model.equals(MINILM) || model.equals(MLP) || model.equals(RETRIEVAL)) {
            return model;
        }
        if (model.equals(DECODER)) {
            throw new IllegalArgumentException("--model decoder needs --decoder DIR");
        }
        throw new IllegalArgumentException(
                "--model must be "
                        + MLP
                        + ", "
                        + RETRIEVAL
                        + ", "
                        + MINILM
                        + " or "
                        + DECODER
                        + ", not "
                        + model);
    }

    int maxTokens() {
        return orElse(maxTokens, isDecoder() ? 256 : 32);
    }

    int batchSize() {
        return orElse(batchSize, isDecoder() ? 4 : 16);
    }

    int localEpochs() {
        return orElse(localEpochs, isDecoder() ? 1 : 2);
    }

    double learningRate() {
        return orElse(learningRate, isDecoder() ? 2e-4 : 3e-3);
    }

    private boolean isDecoder() {
        return kind().equals(DECODER);
    }

    private static <T> T orElse(T value, T otherwise) {
        return value != null ? value : otherwise;
    }

    // ---- MiniLM ---------------------------------------------------------------------------------

    LoraConfig lora() {
        return new LoraConfig(
                        loraRank,
                        loraAlpha,
                        loraDropout,
                        LoraConfig.parseTargets(orElse(loraTargets, "query,value")))
                .withFreezeA(freezeA);
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
        Partition[] split = FedItExperiment.split(sites, testPerSite, orElse(trainCap, 120), seed);
        return new SiteData(
                sites.names().get(index),
                split[0].sites().get(index),
                split[1].sites().get(index),
                labels(all),
                sites.numSites());
    }

    /** The spec every MiniLM site of this dataset and these options trains against. */
    FederationSpec spec(String federation, long seed) throws IOException {
        List<String> labels = labels(read());
        try (LoraBert m = miniLm(labels.size(), seed)) {
            return m.adapterSpec(federation, seed);
        }
    }

    /** A MiniLM trainer for one site (owns its model). */
    BertSiteTrainer trainer(SiteData site, long seed) throws IOException {
        Map<String, Integer> index = new LinkedHashMap<>();
        for (int i = 0; i < site.labels().size(); i++) {
            index.put(site.labels().get(i), i);
        }
        LoraBert m = miniLm(site.labels().size(), seed);
        try (HuggingFaceTokenizer tokenizer = MiniLm.tokenizer(maxTokens())) {
            return new BertSiteTrainer(
                    m,
                    true,
                    tokenizer,
                    FedItExperiment.labelled(site.train(), labelField, index),
                    FedItExperiment.labelled(site.test(), labelField, index),
                    new BertSiteTrainer.Options(
                            maxTokens(),
                            batchSize(),
                            localEpochs(),
                            learningRate(),
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

    private LoraBert miniLm(int classes, long seed) throws IOException {
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

    // ---- Retrieval (the local run's default task)
    // ------------------------------------------------

    /** The retrieval task's federation contract (loads MiniLM). */
    FederationSpec retrievalSpec(String federation, long seed) throws IOException {
        try (LoraBert m =
                io.fedstream.worker.sites.QaRetrieval.miniLm(
                        io.fedstream.worker.sites.QaRetrieval.defaultLora(
                                LocalTasks.ADAPTED_LAYERS),
                        seed)) {
            return m.adapterSpec(federation, seed);
        }
    }

    /**
     * Site {@code index} of the retrieval task with the local run's settings (its own model, closed
     * with the trainer); the sites' names by {@link #siteId}.
     */
    RetrievalLocalTask retrievalTask(long seed) throws IOException {
        int sites = io.fedstream.worker.data.MedQuad.SOURCES.size();
        return LocalTasks.retrieval(
                data,
                sites,
                orElse(trainCap, 32),
                testPerSite,
                localEpochs(),
                learningRate(),
                seed,
                LocalTasks.defaultCacheDir().resolve("embeddings"));
    }

    // ---- Causal decoder -------------------------------------------------------------------------

    DecoderLora decoderLora() {
        return new DecoderLora(
                loraRank,
                loraAlpha,
                loraDropout,
                DecoderLora.parseTargets(orElse(loraTargets, "q_proj,v_proj")));
    }

    /** The decoder's architecture from {@code <decoder>/config.json}. */
    DecoderConfig decoderConfig() throws IOException {
        Path file = decoder.resolve("config.json");
        try {
            return DecoderConfig.fromHfJson(Files.readString(file));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The spec of the decoder's adapter, from its {@code config.json} alone. */
    FederationSpec decoderSpec(String federation, long seed) throws IOException {
        return new FederationSpec(
                federation, seed, CausalLm.adapterTensors(decoderConfig(), decoderLora()));
    }

    /**
     * A trainer of the decoder on this site's {@code --data}, {@code --eval-fraction} of it held
     * out (chosen by {@code seed}); owns its model.
     */
    SiteTrainer decoderTrainer(String site, int siteIndex, long seed) throws IOException {
        if (data == null) {
            throw new IllegalArgumentException("--decoder needs --data (the site's examples)");
        }
        if (!(evalFraction >= 0 && evalFraction < 1)) {
            throw new IllegalArgumentException("--eval-fraction must be in [0, 1)");
        }
        List<InstructionExample> all = AlpacaJsonl.readAll(data);
        int[] order = Sampling.range(all.size());
        Sampling.shuffle(order, new SplittableRandom(seed));
        int held = (int) Math.round(all.size() * evalFraction);
        List<InstructionExample> eval = new ArrayList<>();
        List<InstructionExample> train = new ArrayList<>();
        for (int i = 0; i < order.length; i++) {
            (i < held ? eval : train).add(all.get(order[i]));
        }
        DecoderCheckpoint.requireTokenizer(decoder); // before the weights
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(decoder);
        // FedIT lays examples out in the family's chat template when it has one (FedPIT's
        // self-instruct pipeline keeps the Alpaca layout)
        ChatTemplate template = fedpit ? null : ChatTemplate.of(decoder, checkpoint.config());
        LoraCausalLm lm =
                new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, decoderLora()), seed);
        // never longer than the model's positions (GPT-2: 1024; tiny test models: fewer)
        int tokens = Math.min(maxTokens(), checkpoint.config().maxPositions());
        if (fedpit) {
            return fedPitTrainer(site, siteIndex, seed, checkpoint, lm, train, eval, tokens);
        }
        try (HuggingFaceTokenizer tokenizer = checkpoint.tokenizer()) {
            System.out.printf(
                    "%s: %s (%s) from %s, %s layout, LoRA %s: %d trainable values; %d training"
                            + " and %d held-out examples%n",
                    site,
                    checkpoint.config().modelType(),
                    checkpoint.config().family(),
                    decoder,
                    template == null ? "Alpaca" : template.toString(),
                    decoderLora(),
                    lm.adapterSize(),
                    train.size(),
                    eval.size());
            return new CausalLmSiteTrainer(
                    lm,
                    true,
                    tokenizer,
                    template,
                    train,
                    eval,
                    new CausalLmSiteTrainer.Options(
                            tokens, batchSize(), localEpochs(), learningRate(), seed + siteIndex));
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }

    /** FedPIT on the decoder: the trainer and the tokenizer it keeps are closed together. */
    private SiteTrainer fedPitTrainer(
            String site,
            int siteIndex,
            long seed,
            DecoderCheckpoint checkpoint,
            LoraCausalLm lm,
            List<InstructionExample> train,
            List<InstructionExample> eval,
            int tokens)
            throws IOException {
        HuggingFaceTokenizer tokenizer = checkpoint.tokenizer();
        try {
            TextGenerator generator =
                    generatorUrl == null
                            ? null // the site's own decoder
                            : new ChatCompletionsGenerator(
                                    new ChatCompletionsGenerator.Config(
                                            generatorUrl,
                                            generatorModel,
                                            System.getenv("FEDSTREAM_GENERATOR_API_KEY"),
                                            null,
                                            java.time.Duration.ofMinutes(2)));
            Path file =
                    localAdapter != null
                            ? localAdapter
                            : Path.of("local-adapter-" + siteId(site) + ".safetensors");
            FedPitSiteTrainer trainer =
                    new FedPitSiteTrainer(
                            lm,
                            true,
                            tokenizer,
                            generator,
                            train,
                            eval,
                            new FedPitSiteTrainer.Options(
                                    new CausalTraining.Options(
                                            tokens,
                                            batchSize(),
                                            localEpochs(),
                                            learningRate(),
                                            seed + siteIndex),
                                    beta,
                                    SelfInstruct.Config.defaults().withCandidates(candidates, keep),
                                    localAdapterEpochs,
                                    file));
            System.out.printf(
                    "%s: FedPIT, beta %s, %d candidates and %d kept per round, local adapter in %s"
                            + " (never sent), generator: %s%n",
                    site,
                    beta,
                    candidates,
                    keep,
                    file,
                    generatorUrl == null ? "the site's decoder" : generatorUrl);
            return new SiteTrainer() {
                @Override
                public FederationSpec federationSpec(String federationId, long s) {
                    return trainer.federationSpec(federationId, s);
                }

                @Override
                public TrainResult train(Map<String, float[]> global, long baseVersion) {
                    return trainer.train(global, baseVersion);
                }

                @Override
                public EvalResult evaluate(Map<String, float[]> adapter) {
                    return trainer.evaluate(adapter);
                }

                @Override
                public void close() {
                    try {
                        trainer.close();
                    } finally {
                        tokenizer.close(); // FedPitSiteTrainer keeps it for its life
                    }
                }
            };
        } catch (RuntimeException e) {
            tokenizer.close();
            lm.close();
            throw e;
        }
    }
}
