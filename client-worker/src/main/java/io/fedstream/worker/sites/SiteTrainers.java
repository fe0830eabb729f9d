package io.fedstream.worker.sites;

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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * The site-trainer factory: what a site trains, built from one set of options (the fields below;
 * fedstream-cli's {@code SiteOptions} fills them from the command line). Shared by {@code worker}
 * (which trains) and {@code spec} (which writes the federation's contract), so both derive the same
 * adapter layout and version 0 from the same options:
 *
 * <ul>
 *   <li>{@code --model mlp} (default): the demo task, LoRA on a small frozen MLP, synthetic data.
 *   <li>{@code --model retrieval}: one site of the local run's default task, all-MiniLM-L6-v2 with
 *       LoRA for MedQuAD question-to-answer retrieval ({@link QaRetrieval}).
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
 * <p>Training options given no value take the model's default. The demo task ({@code mlp}) is built
 * by its own factory, {@code io.fedstream.worker.mlp.SyntheticTask}, from the federation's size.
 *
 * <p>Over 600 lines: one factory for every kind of site, each branch short; one class keeps {@code
 * worker} and {@code spec} on the same defaults.
 */
public class SiteTrainers {
    /** The demo task (synthetic data, LoRA on a small frozen MLP). */
    public static final String MLP = "mlp";

    /** all-MiniLM-L6-v2 + LoRA + head on instruction data. */
    public static final String MINILM = "minilm";

    /**
     * all-MiniLM-L6-v2 + LoRA tuned for MedQuAD question-to-answer retrieval: the default task of
     * {@code ./fedstream local}, one site of it.
     */
    public static final String RETRIEVAL = "retrieval";

    /** A local Hugging Face causal LM ({@code --decoder}). */
    public static final String DECODER = "decoder";

    // The options, each the value of the command-line option of the same name (fedstream-cli's
    // SiteOptions describes them); the initial values are the options' defaults, and code that
    // builds trainers without a command line sets the fields it needs.

    /** {@code --model}: {@link #MLP}, {@link #RETRIEVAL}, {@link #MINILM} or {@link #DECODER}. */
    public String model = MLP;

    /** {@code --decoder}: a local Hugging Face causal LM directory. */
    public Path decoder;

    /** {@code --data}: the examples (MiniLM: all sites' file; decoder: this site's own). */
    public Path data;

    /** {@code --eval-fraction}: decoder: share of {@link #data} held out. */
    public double evalFraction = 0.1;

    /** {@code --site-field}: MiniLM: the field whose values are the sites. */
    public String siteField = InstructionExample.SOURCE;

    /** {@code --label-field}: MiniLM: the field to classify. */
    public String labelField = InstructionExample.CATEGORY;

    /** {@code --train-cap}: training examples per site, at most (null: the model's default). */
    public Integer trainCap;

    /** {@code --test-per-site}: MiniLM: held-out examples per site. */
    public int testPerSite = 40;

    /** {@code --lora-rank}. */
    public int loraRank = 8;

    /** {@code --lora-alpha}. */
    public double loraAlpha = 16;

    /** {@code --lora-dropout}. */
    public double loraDropout = 0.05;

    /** {@code --lora-targets}: comma-separated adapted layers (null: the model's default). */
    public String loraTargets;

    /** {@code --lora-freeze-a}: MiniLM: FFA-LoRA, train only B. */
    public boolean freezeA;

    /** {@code --max-tokens} (null: the model's default). */
    public Integer maxTokens;

    /** {@code --batch-size} (null: the model's default). */
    public Integer batchSize;

    /** {@code --local-epochs} (null: the model's default). */
    public Integer localEpochs;

    /** {@code --lr} (null: the model's default). */
    public Double learningRate;

    /** {@code --fedpit}: decoder: FedPIT instead of FedIT. */
    public boolean fedpit;

    /** {@code --beta}: FedPIT's mix of the local-trained into the sent delta. */
    public double beta = 0;

    /** {@code --local-adapter}: FedPIT's private adapter file (null: named after the site). */
    public Path localAdapter;

    /** {@code --candidates}: FedPIT: synthetic candidates per round. */
    public int candidates = 32;

    /** {@code --keep}: FedPIT: candidates kept per round. */
    public int keep = 16;

    /** {@code --local-adapter-epochs}: FedPIT: epochs of the local adapter per round. */
    public int localAdapterEpochs = 1;

    /** {@code --generator-url}: FedPIT: an OpenAI-compatible server to generate with. */
    public java.net.URI generatorUrl;

    /** {@code --generator-model}: FedPIT: the model name sent to {@link #generatorUrl}. */
    public String generatorModel = "default";

    private QaRetrieval retrieval;

    /** One MiniLM site's part of the dataset, with the federation-wide label set. */
    public record SiteData(String name, Site train, Site test, List<String> labels, int sites) {}

    /** {@link #MLP}, {@link #MINILM} or {@link #DECODER}, checked against the other options. */
    public String kind() {
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

    public int maxTokens() {
        return orElse(maxTokens, isDecoder() ? 256 : 32);
    }

    public int batchSize() {
        return orElse(batchSize, isDecoder() ? 4 : 16);
    }

    public int localEpochs() {
        return orElse(localEpochs, isDecoder() ? 1 : 2);
    }

    public double learningRate() {
        return orElse(learningRate, isDecoder() ? 2e-4 : 3e-3);
    }

    private boolean isDecoder() {
        return kind().equals(DECODER);
    }

    private static <T> T orElse(T value, T otherwise) {
        return value != null ? value : otherwise;
    }

    // ---- MiniLM ---------------------------------------------------------------------------------

    public LoraConfig lora() {
        return new LoraConfig(
                        loraRank,
                        loraAlpha,
                        loraDropout,
                        LoraConfig.parseTargets(orElse(loraTargets, "query,value")))
                .withFreezeA(freezeA);
    }

    /** Reads the dataset and returns site {@code index}. */
    public SiteData site(int index, long seed) {
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
        Partition[] split = split(sites, testPerSite, orElse(trainCap, 120), seed);
        return new SiteData(
                sites.names().get(index),
                split[0].sites().get(index),
                split[1].sites().get(index),
                labels(all),
                sites.numSites());
    }

    /** The spec every MiniLM site of this dataset and these options trains against. */
    public FederationSpec spec(String federation, long seed) throws IOException {
        List<String> labels = labels(read());
        try (LoraBert m = miniLm(labels.size(), seed)) {
            return m.adapterSpec(federation, seed);
        }
    }

    /** A MiniLM trainer for one site (owns its model). */
    public BertSiteTrainer trainer(SiteData site, long seed) throws IOException {
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
                    labelled(site.train(), labelField, index),
                    labelled(site.test(), labelField, index),
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
    public static String siteId(String name) {
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
            set.add(label(e, labelField));
        }
        return List.copyOf(set);
    }

    // ---- Retrieval (the local run's default task)
    // ------------------------------------------------

    /** The retrieval task's federation contract (loads MiniLM). */
    public FederationSpec retrievalSpec(String federation, long seed) throws IOException {
        try (LoraBert m =
                QaRetrieval.miniLm(QaRetrieval.defaultLora(QaRetrieval.ADAPTED_LAYERS), seed)) {
            return m.adapterSpec(federation, seed);
        }
    }

    /**
     * The retrieval task with the local run's settings over every MedQuAD website (read once per
     * factory): {@link #trainCap} (default 32) training and {@link #testPerSite} held-out questions
     * per site, split by {@code seed}.
     */
    public QaRetrieval retrievalTask(long seed) {
        if (retrieval == null) {
            List<InstructionExample> all =
                    data == null ? MedQuad.readAll() : MedQuad.readAll(MedQuad.locate(data));
            retrieval =
                    QaRetrieval.split(
                            all,
                            QaRetrieval.localSettings(orElse(trainCap, 32), testPerSite, seed));
        }
        return retrieval;
    }

    /** The retrieval task's site ids ({@link #siteId} of the websites), in order. */
    public List<String> retrievalSiteIds(long seed) {
        List<String> ids = new ArrayList<>();
        for (QaRetrieval.SiteSplit s : retrievalTask(seed).sites()) {
            ids.add(siteId(s.name()));
        }
        return ids;
    }

    /**
     * Site {@code index} of the retrieval task, trained as in the local run (answer embeddings kept
     * in {@code <cache>/embeddings}, {@link #defaultCacheDir()}); owns its model.
     */
    public SiteTrainer retrievalTrainer(int index, long seed) throws IOException {
        QaRetrieval task = retrievalTask(seed);
        LoraBert m = QaRetrieval.miniLm(QaRetrieval.defaultLora(QaRetrieval.ADAPTED_LAYERS), seed);
        try {
            return task.trainer(
                    index,
                    m,
                    true,
                    QaRetrieval.localTraining(localEpochs(), learningRate(), seed),
                    defaultCacheDir().resolve("embeddings"));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * FedStream's cache directory: {@code $XDG_CACHE_HOME/fedstream} or {@code ~/.cache/fedstream}.
     */
    public static Path defaultCacheDir() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base =
                xdg != null && !xdg.isBlank()
                        ? Path.of(xdg)
                        : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("fedstream");
    }

    // ---- Instruction data split into sites (MiniLM here, and ./fedstream experiment fedit) ------

    /**
     * Per site: {@code testPerSite} held-out examples (at most half the site) and at most {@code
     * trainCap} training examples, drawn by a stream of {@code seed} and the site's name; returns
     * {train, test} with the same sites in the same order.
     */
    public static Partition[] split(Partition all, int testPerSite, int trainCap, long seed) {
        List<Site> train = new ArrayList<>();
        List<Site> test = new ArrayList<>();
        for (Site s : all.sites()) {
            int n = s.size();
            int nTest = Math.min(testPerSite, n / 2);
            int[] order = Sampling.range(n);
            Sampling.shuffle(
                    order, new SplittableRandom(Sampling.streamSeed(seed, s.name().hashCode())));
            int[] te = Arrays.copyOfRange(order, 0, nTest);
            int[] tr = Arrays.copyOfRange(order, nTest, Math.min(n, nTest + trainCap));
            Arrays.sort(te);
            Arrays.sort(tr);
            test.add(new Site(s.name(), pick(s.examples(), te)));
            train.add(new Site(s.name(), pick(s.examples(), tr)));
        }
        return new Partition[] {new Partition(train), new Partition(test)};
    }

    private static List<InstructionExample> pick(List<InstructionExample> xs, int[] idx) {
        List<InstructionExample> out = new ArrayList<>(idx.length);
        for (int i : idx) {
            out.add(xs.get(i));
        }
        return out;
    }

    /** The example's value of {@code labelField}, {@link ByField#MISSING} when it has none. */
    public static String label(InstructionExample e, String labelField) {
        String v = e.label(labelField);
        return v == null ? ByField.MISSING : v;
    }

    /** A site's instructions with the index (in {@code index}) of their {@code labelField}. */
    public static BertSiteTrainer.Labelled labelled(
            Site site, String labelField, Map<String, Integer> index) {
        List<String> texts = new ArrayList<>();
        int[] ys = new int[site.size()];
        for (int i = 0; i < site.size(); i++) {
            InstructionExample e = site.examples().get(i);
            texts.add(e.instruction());
            ys[i] = index.get(label(e, labelField));
        }
        return new BertSiteTrainer.Labelled(texts, ys);
    }

    // ---- Causal decoder -------------------------------------------------------------------------

    public DecoderLora decoderLora() {
        return new DecoderLora(
                loraRank,
                loraAlpha,
                loraDropout,
                DecoderLora.parseTargets(orElse(loraTargets, "q_proj,v_proj")));
    }

    /** The decoder's architecture from {@code <decoder>/config.json}. */
    public DecoderConfig decoderConfig() throws IOException {
        Path file = decoder.resolve("config.json");
        try {
            return DecoderConfig.fromHfJson(Files.readString(file));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The spec of the decoder's adapter, from its {@code config.json} alone. */
    public FederationSpec decoderSpec(String federation, long seed) throws IOException {
        return new FederationSpec(
                federation, seed, CausalLm.adapterTensors(decoderConfig(), decoderLora()));
    }

    /**
     * A trainer of the decoder on this site's {@code --data}, {@code --eval-fraction} of it held
     * out (chosen by {@code seed}); owns its model.
     */
    public SiteTrainer decoderTrainer(String site, int siteIndex, long seed) throws IOException {
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
        // FedIT and FedPIT lay examples out in the family's chat template when it has one
        ChatTemplate template = ChatTemplate.of(decoder, checkpoint.config());
        LoraCausalLm lm =
                new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, decoderLora()), seed);
        // never longer than the model's positions (GPT-2: 1024; tiny test models: fewer)
        int tokens = Math.min(maxTokens(), checkpoint.config().maxPositions());
        if (fedpit) {
            return fedPitTrainer(
                    site, siteIndex, seed, checkpoint, template, lm, train, eval, tokens);
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
            ChatTemplate template,
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
                            template,
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
                    "%s: FedPIT, %s layout, beta %s, %d candidates and %d kept per round, local"
                            + " adapter in %s (never sent), generator: %s%n",
                    site,
                    template == null ? "Alpaca" : template.toString(),
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
