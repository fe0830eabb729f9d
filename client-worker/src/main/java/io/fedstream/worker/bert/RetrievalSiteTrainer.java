package io.fedstream.worker.bert;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.djl.AdapterSiteTrainer;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A site's local training of a question encoder for answer retrieval: LoRA on the upper layers of a
 * pretrained sentence encoder (all-MiniLM-L6-v2), trained so that a question's embedding lands
 * nearest its answer's.
 *
 * <p><b>Query-side adaptation.</b> Only questions go through the adapted encoder; answers are
 * embedded once by the frozen base model ({@link #embedKeys}) and never change. A site's search
 * index (its answers' embeddings) therefore stays valid whatever global version the site runs,
 * which is what a hospital tuning search over its own content needs, and training costs no answer
 * forward or backward pass.
 *
 * <p><b>Loss.</b> Softmax cross-entropy of {@code scale · cos(q, a)} over every distinct answer of
 * the site's training set (the site's whole local corpus as negatives, which includes the hard
 * ones: other answers about the same disease), see {@link
 * LoraBert.Training#retrievalStepFromPrefix}.
 *
 * <p><b>Evaluation.</b> {@link #evaluate} ranks the site's held-out questions against a candidate
 * pool given at construction (for the federation's default task: the held-out answers of every
 * site, so distractors come from every site): {@link EvalResult#accuracy()} is recall@1, {@link
 * EvalResult#loss()} the cross-entropy over the pool; {@link #rank} adds the mean reciprocal rank.
 *
 * <p>The frozen prefix (embeddings and the layers below {@link LoraConfig#fromLayer()}) of every
 * question is computed once and cached, so a step runs only the adapted layers. Several trainers
 * may share one {@link LoraBert} (calls are serialised on it); only the owner closes it.
 */
public final class RetrievalSiteTrainer extends AdapterSiteTrainer<LoraBert> {
    private static final int EVAL_BATCH = 64;

    /**
     * Local training settings.
     *
     * @param maxTokens truncation length of questions (special tokens included)
     * @param batchSize questions per step
     * @param localEpochs passes over the local questions per {@link #train} call
     * @param learningRate Adam's learning rate
     * @param scale the inverse temperature of the contrastive loss (sentence-transformers: 20)
     * @param seed base seed of batch order and dropout
     */
    public record Options(
            int maxTokens,
            int batchSize,
            int localEpochs,
            double learningRate,
            double scale,
            long seed) {
        public Options {
            if (maxTokens < 2
                    || batchSize < 1
                    || localEpochs < 0
                    || !(learningRate > 0)
                    || !(scale > 0)) {
                throw new IllegalArgumentException("bad options " + this);
            }
        }
    }

    /**
     * Questions with the index of each one's answer among {@code keys}: unit-norm answer
     * embeddings, {@code [keys.length / hidden, hidden]} row-major.
     */
    public record Queries(List<String> questions, int[] answers, float[] keys) {
        public Queries {
            questions = List.copyOf(questions);
            answers = answers.clone();
            if (questions.size() != answers.length) {
                throw new IllegalArgumentException("one answer per question needed");
            }
        }

        public int size() {
            return answers.length;
        }
    }

    /** Held-out ranking quality: recall@1, mean reciprocal rank, mean loss, number of questions. */
    public record Ranking(double recallAt1, double mrr, double loss, int questions) {}

    private final Options options;
    private final int hidden;
    private final TokenBatch train;
    private final Queries trainQueries;
    private final TokenBatch eval;
    private final Queries evalQueries;
    private final float[][] trainPrefix;
    private final float[][] evalPrefix;

    /**
     * @param model a {@link LoraBert} over a bare {@link BertEncoder} with LoRA from a layer above
     *     0; shared or owned
     * @param ownsModel whether {@link #close()} closes {@code model}
     * @param tokenizer used here only (not kept)
     * @param train the site's training questions and the keys of its local answers
     * @param eval the site's held-out questions and the candidate pool they are ranked against
     */
    public RetrievalSiteTrainer(
            LoraBert model,
            boolean ownsModel,
            HuggingFaceTokenizer tokenizer,
            Queries train,
            Queries eval,
            Options options) {
        super(model, ownsModel);
        if (!(model.block() instanceof BertEncoder encoder)) {
            throw new IllegalArgumentException("retrieval trains a bare encoder");
        }
        if (encoder.frozenLayers() == 0) {
            throw new IllegalArgumentException("the encoder's LoRA must start above layer 0");
        }
        if (train.size() == 0) {
            throw new IllegalArgumentException("a site needs training questions");
        }
        this.options = options;
        this.hidden = model.config().hiddenSize();
        checkKeys(train);
        checkKeys(eval);
        this.trainQueries = train;
        this.evalQueries = eval;
        this.train = TokenBatch.encode(tokenizer, train.questions(), options.maxTokens());
        this.eval =
                eval.size() == 0
                        ? null
                        : TokenBatch.encode(tokenizer, eval.questions(), options.maxTokens());
        synchronized (model) {
            this.trainPrefix = prefixes(model, this.train);
            this.evalPrefix = eval.size() == 0 ? new float[0][] : prefixes(model, this.eval);
        }
    }

    private void checkKeys(Queries q) {
        if (q.size() == 0) {
            return;
        }
        if (q.keys().length == 0 || q.keys().length % hidden != 0) {
            throw new IllegalArgumentException("keys must be [N, " + hidden + "]");
        }
        int n = q.keys().length / hidden;
        for (int a : q.answers()) {
            if (a < 0 || a >= n) {
                throw new IllegalArgumentException("answer " + a + " outside [0, " + n + ")");
            }
        }
    }

    /**
     * Unit-norm embeddings {@code [texts, hidden]} of {@code texts} by the frozen base model: the
     * adapter of {@code model} is set to version 0 (LoRA {@code B = 0}, so exactly the pretrained
     * encoder) first. Texts are truncated to {@code maxTokens} tokens.
     */
    public static float[] embedKeys(
            LoraBert model, HuggingFaceTokenizer tokenizer, List<String> texts, int maxTokens) {
        synchronized (model) {
            model.setAdapter(model.adapterSpec("base", 0).initialValues());
            int h = model.config().hiddenSize();
            float[] out = new float[texts.size() * h];
            Integer[] byLength = new Integer[texts.size()];
            TokenBatch all = TokenBatch.encode(tokenizer, texts, maxTokens);
            for (int i = 0; i < byLength.length; i++) {
                byLength[i] = i;
            }
            Arrays.sort(byLength, Comparator.comparingInt(all::tokens));
            for (int from = 0; from < byLength.length; from += EVAL_BATCH) {
                int[] rows = new int[Math.min(EVAL_BATCH, byLength.length - from)];
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = byLength[from + i];
                }
                float[] e = model.sentenceEmbeddings(BertSiteTrainer.gather(all, rows), true);
                for (int i = 0; i < rows.length; i++) {
                    System.arraycopy(e, i * h, out, rows[i] * h, h);
                }
            }
            return out;
        }
    }

    @Override
    public TrainResult train(Map<String, float[]> global, long baseVersion) {
        synchronized (model) {
            return trainRound(global, nextRoundSeed(options.seed(), baseVersion));
        }
    }

    /**
     * The site alone: {@code rounds} local rounds of the same settings, each starting where the
     * previous ended, from {@code start}; returns the final adapter. Uses its own random streams
     * and leaves {@link #train}'s untouched, so a federated run is the same with or without it.
     */
    public Map<String, float[]> trainAlone(Map<String, float[]> start, int rounds) {
        synchronized (model) {
            Map<String, float[]> adapter = Adapters.copy(start);
            for (int r = 0; r < rounds; r++) {
                TrainResult t = trainRound(adapter, Sampling.streamSeed(options.seed(), -1, r));
                adapter = Adapters.apply(adapter, t.delta());
            }
            return adapter;
        }
    }

    private TrainResult trainRound(Map<String, float[]> global, long seed) {
        Map<String, float[]> start = loadCopy(global);
        SplittableRandom random = new SplittableRandom(seed);
        int n = train.batchSize();
        int[] order = Sampling.range(n);
        Round counts = new Round(start);
        try (LoraBert.Training training =
                model.newTraining(options.learningRate(), random.nextLong())) {
            for (int epoch = 0; epoch < options.localEpochs(); epoch++) {
                Sampling.shuffle(order, random);
                for (int[] rows : Sampling.batches(order, options.batchSize())) {
                    TokenBatch batch = BertSiteTrainer.gather(train, rows);
                    int[] labels = new int[rows.length];
                    for (int i = 0; i < rows.length; i++) {
                        labels[i] = trainQueries.answers()[rows[i]];
                    }
                    counts.step(
                            training.retrievalStepFromPrefix(
                                    gatherPrefix(trainPrefix, rows, batch.sequenceLength()),
                                    batch,
                                    trainQueries.keys(),
                                    labels,
                                    (float) options.scale()));
                }
            }
        }
        Finished done = counts.finish();
        done.metrics().put(DELTA_NORM, Adapters.l2Norm(done.delta()));
        return new TrainResult(done.delta(), n, done.metrics());
    }

    @Override
    public EvalResult evaluate(Map<String, float[]> adapter) {
        Ranking r = rank(adapter);
        return new EvalResult(r.loss(), r.recallAt1(), r.questions());
    }

    /** Recall@1, MRR and loss of {@code adapter} on the held-out questions (NaN with none). */
    public Ranking rank(Map<String, float[]> adapter) {
        if (eval == null) {
            return new Ranking(Double.NaN, Double.NaN, Double.NaN, 0);
        }
        float[] q;
        synchronized (model) {
            model.setAdapter(adapter);
            q = queryEmbeddings(eval, evalPrefix);
        }
        return RetrievalMetrics.rank(
                q, evalQueries.keys(), evalQueries.answers(), hidden, options.scale());
    }

    // normalised embeddings of every row of data, from the cached prefixes
    private float[] queryEmbeddings(TokenBatch data, float[][] prefix) {
        int n = data.batchSize();
        float[] out = new float[n * hidden];
        for (int from = 0; from < n; from += EVAL_BATCH) {
            int[] rows = Sampling.range(Math.min(EVAL_BATCH, n - from));
            for (int i = 0; i < rows.length; i++) {
                rows[i] += from;
            }
            TokenBatch batch = BertSiteTrainer.gather(data, rows);
            float[] e =
                    model.sentenceEmbeddingsFromPrefix(
                            gatherPrefix(prefix, rows, batch.sequenceLength()), batch);
            System.arraycopy(e, 0, out, from * hidden, e.length);
        }
        return out;
    }

    private static float[][] prefixes(LoraBert model, TokenBatch data) {
        return FrozenPrefixes.compute(model, data, EVAL_BATCH);
    }

    private float[] gatherPrefix(float[][] cache, int[] rows, int len) {
        return FrozenPrefixes.gather(cache, rows, len, hidden);
    }

    public int numTrainExamples() {
        return trainQueries.size();
    }

    public int numEvalExamples() {
        return evalQueries.size();
    }

    public Options options() {
        return options;
    }
}
