package io.fedstream.worker.fedpit;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.decoder.CausalTraining;
import io.fedstream.worker.decoder.ChatTemplate;
import io.fedstream.worker.decoder.LoraCausalLm;
import io.fedstream.worker.decoder.MergedBase;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.SafeTensors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * FedPIT (Zhang et al., 2024): federated instruction tuning with parameter isolation and
 * self-generated synthetic data, as a {@link SiteTrainer}. A site holds two adapters of the same
 * layout on one frozen base:
 *
 * <ul>
 *   <li>the <b>global</b> adapter, received from the federation, trained each round on synthetic
 *       data only and returned as a delta (the only thing this trainer returns, hence the only
 *       thing the worker can publish);
 *   <li>the <b>local</b> adapter, private: trained on top of the global one (global folded into the
 *       base weights, {@link MergedBase}) on the site's data plus the synthetic data, kept in
 *       memory and in {@link Options#localAdapterFile()}, never returned.
 * </ul>
 *
 * A round ({@link #train}): (1) if β &gt; 0, the FedIT delta: the global adapter trained on the
 * private data exactly as {@link io.fedstream.worker.decoder.CausalLmSiteTrainer} trains it; (2)
 * self-instruct with base + global + local ({@link SelfInstruct}: generation, filters, IFS under
 * the same model); (3) if β &lt; 1, the synthetic delta: the global adapter trained on the kept
 * synthetic examples; (4) the local adapter trained for {@link Options#localEpochs()} epochs on
 * private + synthetic data; (5) the returned delta is {@link DeltaMix#mix β·Δ_local + (1 −
 * β)·Δ_synthetic}. β = 0 (default) is strict isolation; β = 1 returns exactly what FedIT returns.
 * The example count is the number of examples behind the delta (private at β = 1, synthetic at β =
 * 0, the β-weighted mix between; at least 1).
 *
 * <p>Inference at the site uses base + global + local ({@link #evaluatePersonalised}). Several
 * trainers may share one model (only the owner closes it); every call leaves the base restored.
 */
public final class FedPitSiteTrainer implements SiteTrainer {
    public static final String LOCAL_TRAIN_LOSS = "fedit_train_loss";
    public static final String SYNTHETIC_TRAIN_LOSS = "synthetic_train_loss";
    public static final String LOCAL_ADAPTER_LOSS = "local_adapter_train_loss";
    public static final String BETA = "beta";

    /**
     * @param training local training of either adapter (batch, learning rate, seed, epochs of the
     *     global adapter)
     * @param beta the share of the FedIT delta in what is sent, in [0, 1] (0: strict isolation)
     * @param selfInstruct synthetic data generation per round
     * @param localEpochs epochs of the private adapter per round (0: no private adapter)
     * @param localAdapterFile where the private adapter is kept (safetensors); null: memory only
     */
    public record Options(
            CausalTraining.Options training,
            double beta,
            SelfInstruct.Config selfInstruct,
            int localEpochs,
            Path localAdapterFile) {
        public Options {
            if (!(beta >= 0 && beta <= 1)) {
                throw new IllegalArgumentException("beta must be in [0, 1]: " + beta);
            }
            if (localEpochs < 0) {
                throw new IllegalArgumentException("localEpochs must not be negative");
            }
        }

        public Options withBeta(double b) {
            return new Options(training, b, selfInstruct, localEpochs, localAdapterFile);
        }

        public Options withLocalAdapterFile(Path file) {
            return new Options(training, beta, selfInstruct, localEpochs, file);
        }
    }

    private final LoraCausalLm model;
    private final boolean ownsModel;
    private final HuggingFaceTokenizer tokenizer;
    private final ChatTemplate template;
    private final TextGenerator generator;
    private final AnswerScorer scorer;
    private final Options options;
    private final List<InstructionExample> local;
    private final CausalTraining.Encoded localData;
    private final CausalTraining.Encoded eval;
    private final SelfInstruct selfInstruct;
    private final MergedBase merged;
    private final List<TensorSpec> layout;
    private Map<String, float[]> localAdapter;
    private List<InstructionExample> lastSynthetic = List.of();
    private long rounds;

    /**
     * @param generator writes the synthetic data; null: the site's own model ({@link
     *     DecoderGenerator}, with base + global + local loaded). Not closed here.
     * @param tokenizer kept for the trainer's life (not closed here)
     */
    public FedPitSiteTrainer(
            LoraCausalLm model,
            boolean ownsModel,
            HuggingFaceTokenizer tokenizer,
            TextGenerator generator,
            List<InstructionExample> train,
            List<InstructionExample> eval,
            Options options) {
        this(model, ownsModel, tokenizer, null, generator, train, eval, options);
    }

    /**
     * A trainer whose examples, local and synthetic, are laid out in the checkpoint's chat {@code
     * template} as FedIT lays them out ({@link CausalTraining#encode}; null: the Alpaca layout),
     * and whose own model generates and scores synthetic data in it too ({@link DecoderGenerator},
     * {@link DecoderScorer}).
     *
     * @param generator writes the synthetic data; null: the site's own model. Not closed here.
     * @param tokenizer kept for the trainer's life (not closed here)
     */
    public FedPitSiteTrainer(
            LoraCausalLm model,
            boolean ownsModel,
            HuggingFaceTokenizer tokenizer,
            ChatTemplate template,
            TextGenerator generator,
            List<InstructionExample> train,
            List<InstructionExample> eval,
            Options options) {
        if (train.isEmpty()) {
            throw new IllegalArgumentException("a site needs training examples");
        }
        this.model = model;
        this.ownsModel = ownsModel;
        this.tokenizer = tokenizer;
        this.template = template;
        this.generator =
                generator != null ? generator : new DecoderGenerator(model, tokenizer, template);
        this.options = options;
        int maxTokens = options.training().maxTokens();
        this.scorer = new DecoderScorer(model, tokenizer, maxTokens, template);
        this.local = List.copyOf(train);
        this.localData = trainingData(train);
        this.eval = trainingData(eval);
        this.selfInstruct = new SelfInstruct(options.selfInstruct());
        this.layout = model.adapterSpec("fedpit-local", 0).tensors();
        this.localAdapter = loadOrInitLocal();
        this.merged = new MergedBase(model);
    }

    /**
     * {@code examples} as this trainer trains on them (local, held-out and synthetic alike): in the
     * chat template if it has one, else the Alpaca layout; at most the training's max tokens.
     */
    public CausalTraining.Encoded trainingData(List<InstructionExample> examples) {
        return CausalTraining.Encoded.of(
                tokenizer, template, model.config(), examples, options.training().maxTokens());
    }

    private Map<String, float[]> loadOrInitLocal() {
        Path file = options.localAdapterFile();
        if (file != null && Files.isRegularFile(file)) {
            try {
                Map<String, float[]> values = new LinkedHashMap<>();
                SafeTensors.read(file).forEach((k, v) -> values.put(k, v.data()));
                Adapters.requireLayout(values, model.adapterSpec("fedpit-local", 0));
                return values;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the local adapter " + file, e);
            }
        }
        long seed = Sampling.streamSeed(options.training().seed(), 0x10CA1L);
        return model.adapterSpec("fedpit-local", seed).initialValues();
    }

    @Override
    public FederationSpec federationSpec(String federationId, long seed) {
        return model.adapterSpec(federationId, seed);
    }

    @Override
    public TrainResult train(Map<String, float[]> global, long baseVersion) {
        synchronized (model) {
            long round = rounds++;
            long seed = options.training().seed();
            double beta = options.beta();
            Map<String, float[]> start = Adapters.copy(global);
            Map<String, Double> metrics = new LinkedHashMap<>();
            long t0 = System.nanoTime();
            Map<String, float[]> fromLocal = null;
            if (beta > 0) {
                CausalTraining.Result r =
                        CausalTraining.train(
                                model,
                                start,
                                localData,
                                options.training(),
                                CausalTraining.roundSeed(seed, baseVersion, round));
                fromLocal = Adapters.delta(r.adapter(), start);
                metrics.put(LOCAL_TRAIN_LOSS, r.meanLoss());
            }
            CausalTraining.Encoded synthetic = new CausalTraining.Encoded(List.of());
            if (beta < 1 || options.localEpochs() > 0) {
                SelfInstruct.Round syn;
                try {
                    merged.merge(start);
                    model.setAdapter(localAdapter);
                    syn =
                            selfInstruct.generate(
                                    local,
                                    generator,
                                    scorer,
                                    new SplittableRandom(
                                            Sampling.streamSeed(seed, baseVersion, round, 1)),
                                    "synthetic-" + baseVersion + "-" + round + "-");
                } finally {
                    merged.restore();
                }
                lastSynthetic = syn.kept();
                metrics.putAll(syn.metrics());
                synthetic = trainingData(syn.kept());
            }
            Map<String, float[]> fromSynthetic = null;
            if (beta < 1) {
                CausalTraining.Result r =
                        CausalTraining.train(
                                model,
                                start,
                                synthetic,
                                options.training(),
                                Sampling.streamSeed(seed, baseVersion, round, 2));
                fromSynthetic = Adapters.delta(r.adapter(), start);
                metrics.put(SYNTHETIC_TRAIN_LOSS, r.meanLoss());
            }
            if (options.localEpochs() > 0) {
                trainLocalAdapter(start, localData.plus(synthetic), baseVersion, round, metrics);
            }
            Map<String, float[]> delta = DeltaMix.mix(beta, fromLocal, fromSynthetic);
            metrics.put(BETA, beta);
            metrics.put(DELTA_NORM, Adapters.l2Norm(delta));
            metrics.put(TRAIN_MILLIS, (double) ((System.nanoTime() - t0) / 1_000_000));
            long examples =
                    Math.max(
                            1, Math.round(beta * localData.size() + (1 - beta) * synthetic.size()));
            return new TrainResult(delta, examples, metrics);
        }
    }

    private void trainLocalAdapter(
            Map<String, float[]> global,
            CausalTraining.Encoded data,
            long baseVersion,
            long round,
            Map<String, Double> metrics) {
        CausalTraining.Options t = options.training();
        CausalTraining.Options localOptions =
                new CausalTraining.Options(
                        t.maxTokens(),
                        t.batchSize(),
                        options.localEpochs(),
                        t.learningRate(),
                        t.seed());
        try {
            merged.merge(global);
            CausalTraining.Result r =
                    CausalTraining.train(
                            model,
                            localAdapter,
                            data,
                            localOptions,
                            Sampling.streamSeed(t.seed(), baseVersion, round, 3));
            localAdapter = r.adapter();
            metrics.put(LOCAL_ADAPTER_LOSS, r.meanLoss());
        } finally {
            merged.restore();
        }
        persistLocal();
    }

    private void persistLocal() {
        Path file = options.localAdapterFile();
        if (file == null) {
            return;
        }
        Map<String, FloatTensor> tensors = new LinkedHashMap<>();
        for (TensorSpec s : layout) {
            tensors.put(s.name(), new FloatTensor(s.shape(), localAdapter.get(s.name())));
        }
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            SafeTensors.write(tmp, tensors);
            Files.move(
                    tmp,
                    file,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the local adapter " + file, e);
        }
    }

    /** Held-out answer loss of base + {@code adapter} (what the federation publishes). */
    @Override
    public EvalResult evaluate(Map<String, float[]> adapter) {
        if (eval.size() == 0) {
            return new EvalResult(Double.NaN, Double.NaN, 0);
        }
        synchronized (model) {
            model.setAdapter(adapter);
            return new EvalResult(
                    CausalTraining.answerLoss(model, eval, 8).mean(), Double.NaN, eval.size());
        }
    }

    /** Held-out answer loss of the site's own model: base + {@code global} + local adapter. */
    public EvalResult evaluatePersonalised(Map<String, float[]> global) {
        if (eval.size() == 0) {
            return new EvalResult(Double.NaN, Double.NaN, 0);
        }
        synchronized (model) {
            try {
                merged.merge(global);
                model.setAdapter(localAdapter);
                return new EvalResult(
                        CausalTraining.answerLoss(model, eval, 8).mean(), Double.NaN, eval.size());
            } finally {
                merged.restore();
            }
        }
    }

    /** A copy of the private adapter (for tests and the site's own use). */
    public Map<String, float[]> localAdapter() {
        synchronized (model) {
            return Adapters.copy(localAdapter);
        }
    }

    /** The synthetic examples kept in the last round. */
    public List<InstructionExample> lastSynthetic() {
        return lastSynthetic;
    }

    public TextGenerator generator() {
        return generator;
    }

    public Options options() {
        return options;
    }

    @Override
    public void close() {
        synchronized (model) {
            merged.close();
            if (ownsModel) {
                model.close();
            }
        }
    }
}
