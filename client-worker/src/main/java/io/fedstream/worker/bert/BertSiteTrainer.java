package io.fedstream.worker.bert;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.djl.AdapterSiteTrainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A site's local training of a LoRA-adapted pretrained encoder with a classification head ({@link
 * BertClassifier} in a {@link LoraBert}) on short texts, e.g. MedQuAD questions → question type.
 *
 * <p>The texts are tokenised once, at construction, truncated to {@link Options#maxTokens()}; every
 * mini-batch is then padded only to its own longest row (padding is masked, so this changes nothing
 * but the cost). {@link #train} writes the global adapter into the model, runs {@link
 * Options#localEpochs()} epochs of mini-batch Adam (fresh moments every round, see {@link
 * LoraBert#newTraining}) over the site's examples in a shuffled order, and returns {@code trained −
 * global} for every tensor of the adapter spec (LoRA matrices and head). Batch order and dropout
 * derive from {@link Options#seed()}, the base version and the number of rounds this trainer has
 * run, so runs are reproducible. {@link #evaluate} gives the mean cross-entropy and accuracy on the
 * held-out examples.
 *
 * <p>Several trainers may share one {@link LoraBert} (e.g. the sites of a single-process
 * simulation: one copy of the frozen encoder instead of one per site): every call loads the adapter
 * it is given first. Only a trainer created as the owner closes the model. Calls are serialised on
 * the shared model.
 *
 * <p>Two options make training faster without changing what is computed (measured by {@code
 * ./fedstream bench train}, see docs/benchmarks.md):
 *
 * <ul>
 *   <li>{@link Options#cacheFrozenPrefix()}: the hidden states below the first adapted layer
 *       ({@link LoraConfig#fromLayer()}, and the embeddings) do not depend on the adapter, so they
 *       are computed once per training example, on first use, and kept (unpadded, {@code tokens ×
 *       hidden} floats per example) for every later epoch and round; a step then runs only the
 *       adapted layers. Same loss up to float rounding (the frozen layers see each row without the
 *       batch's padding, which the mask already made irrelevant).
 *   <li>{@link Options#bucketByLength()}: each epoch's shuffled order is cut into pools of {@value
 *       #BUCKET_POOL} batches, each pool sorted by length and cut into batches, and the batches
 *       shuffled: rows of a batch have similar lengths, so less padding is computed. Batches are
 *       still random, but their composition is correlated with length.
 * </ul>
 */
public final class BertSiteTrainer extends AdapterSiteTrainer<LoraBert> {
    /** Attended tokens trained on in the round (every epoch counted). */
    public static final String TRAIN_TOKENS = "train_tokens";

    /** Token positions computed in the round, padding included. */
    public static final String COMPUTED_TOKENS = "computed_tokens";

    private static final int EVAL_BATCH = 64;

    /** Batches per length-sorted pool when bucketing. */
    static final int BUCKET_POOL = 16;

    /**
     * Local training settings.
     *
     * @param maxTokens truncation length of the tokenizer (special tokens included)
     * @param batchSize mini-batch size
     * @param localEpochs passes over the local examples per {@link #train} call
     * @param learningRate Adam's learning rate
     * @param seed base seed of batch order and dropout
     * @param cacheFrozenPrefix keep the frozen layers' outputs across epochs and rounds
     * @param bucketByLength batch rows of similar length together
     */
    public record Options(
            int maxTokens,
            int batchSize,
            int localEpochs,
            double learningRate,
            long seed,
            boolean cacheFrozenPrefix,
            boolean bucketByLength) {
        public Options {
            if (maxTokens < 2 || batchSize < 1 || localEpochs < 0 || !(learningRate > 0)) {
                throw new IllegalArgumentException("bad options " + this);
            }
        }

        /** Plain training: no cache, no bucketing. */
        public Options(
                int maxTokens, int batchSize, int localEpochs, double learningRate, long seed) {
            this(maxTokens, batchSize, localEpochs, learningRate, seed, false, false);
        }

        public Options withSpeedups(boolean cacheFrozenPrefix, boolean bucketByLength) {
            return new Options(
                    maxTokens,
                    batchSize,
                    localEpochs,
                    learningRate,
                    seed,
                    cacheFrozenPrefix,
                    bucketByLength);
        }
    }

    /** Texts with class indices. */
    public record Labelled(List<String> texts, int[] labels) {
        public Labelled {
            texts = List.copyOf(texts);
            labels = labels.clone();
            if (texts.size() != labels.length) {
                throw new IllegalArgumentException("one label per text needed");
            }
        }

        public int size() {
            return labels.length;
        }
    }

    private final Options options;
    private final TokenBatch train;
    private final int[] trainLabels;
    private final TokenBatch eval;
    private final int[] evalLabels;
    private final int numClasses;
    private final int[] trainLengths;
    private float[][] prefixCache;

    /**
     * @param model a {@link LoraBert} over a {@link BertClassifier}; shared or owned
     * @param ownsModel whether {@link #close()} closes {@code model}
     * @param tokenizer used here only (not kept); should truncate to at most {@code maxTokens}
     * @param train the site's training examples (at least one)
     * @param eval the site's held-out examples (may be empty)
     */
    public BertSiteTrainer(
            LoraBert model,
            boolean ownsModel,
            HuggingFaceTokenizer tokenizer,
            Labelled train,
            Labelled eval,
            Options options) {
        super(model, ownsModel);
        if (!(model.block() instanceof BertClassifier classifier)) {
            throw new IllegalArgumentException("the model needs a classification head");
        }
        if (train.size() == 0) {
            throw new IllegalArgumentException("a site needs training examples");
        }
        this.options = options;
        this.numClasses = classifier.numClasses();
        checkLabels(train.labels());
        checkLabels(eval.labels());
        this.train = TokenBatch.encode(tokenizer, train.texts(), options.maxTokens());
        this.trainLabels = train.labels();
        this.trainLengths = new int[this.train.batchSize()];
        for (int i = 0; i < trainLengths.length; i++) {
            trainLengths[i] = this.train.tokens(i);
        }
        this.eval =
                eval.size() == 0
                        ? null
                        : TokenBatch.encode(tokenizer, eval.texts(), options.maxTokens());
        this.evalLabels = eval.labels();
    }

    private void checkLabels(int[] labels) {
        for (int y : labels) {
            if (y < 0 || y >= numClasses) {
                throw new IllegalArgumentException(
                        "label " + y + " outside [0, " + numClasses + ")");
            }
        }
    }

    @Override
    public TrainResult train(Map<String, float[]> global, long baseVersion) {
        synchronized (model) {
            Map<String, float[]> start = loadCopy(global);
            SplittableRandom random =
                    new SplittableRandom(nextRoundSeed(options.seed(), baseVersion));
            int[] order = Sampling.range(train.batchSize());
            long tokens = 0;
            long computed = 0;
            Round counts = new Round(start);
            if (options.cacheFrozenPrefix()) {
                fillPrefixCache();
            }
            try (LoraBert.Training training =
                    model.newTraining(options.learningRate(), random.nextLong())) {
                for (int epoch = 0; epoch < options.localEpochs(); epoch++) {
                    Sampling.shuffle(order, random);
                    for (int[] rows :
                            batches(
                                    order,
                                    options.batchSize(),
                                    options.bucketByLength() ? trainLengths : null,
                                    random)) {
                        TokenBatch batch = gather(train, rows);
                        int[] labels = pick(trainLabels, rows);
                        counts.step(
                                options.cacheFrozenPrefix()
                                        ? training.stepFromPrefix(
                                                gatherPrefix(rows, batch.sequenceLength()),
                                                batch,
                                                labels)
                                        : training.step(batch, labels));
                        for (int r : rows) {
                            tokens += trainLengths[r];
                        }
                        computed += (long) rows.length * batch.sequenceLength();
                    }
                }
            }
            Finished done = counts.finish();
            Map<String, Double> metrics = done.metrics();
            metrics.put(DELTA_NORM, Adapters.l2Norm(done.delta()));
            metrics.put(TRAIN_TOKENS, (double) tokens);
            metrics.put(COMPUTED_TOKENS, (double) computed);
            return new TrainResult(done.delta(), train.batchSize(), metrics);
        }
    }

    @Override
    public EvalResult evaluate(Map<String, float[]> adapter) {
        if (eval == null) {
            return new EvalResult(Double.NaN, Double.NaN, 0);
        }
        synchronized (model) {
            model.setAdapter(adapter);
            return score(eval, evalLabels);
        }
    }

    /** Loss and accuracy of the adapter currently in the model on the training examples. */
    public EvalResult evaluateTrain(Map<String, float[]> adapter) {
        synchronized (model) {
            model.setAdapter(adapter);
            return score(train, trainLabels);
        }
    }

    private EvalResult score(TokenBatch data, int[] labels) {
        double loss = 0;
        int correct = 0;
        int n = data.batchSize();
        for (int from = 0; from < n; from += EVAL_BATCH) {
            int to = Math.min(n, from + EVAL_BATCH);
            float[] logits = model.logits(trim(data.rows(from, to)));
            for (int i = 0; i < to - from; i++) {
                int off = i * numClasses;
                int best = 0;
                float max = Float.NEGATIVE_INFINITY;
                for (int c = 0; c < numClasses; c++) {
                    if (logits[off + c] > max) {
                        max = logits[off + c];
                        best = c;
                    }
                }
                double z = 0;
                for (int c = 0; c < numClasses; c++) {
                    z += Math.exp(logits[off + c] - max);
                }
                int y = labels[from + i];
                loss += Math.log(z) - (logits[off + y] - max);
                correct += best == y ? 1 : 0;
            }
        }
        return new EvalResult(loss / n, (double) correct / n, n);
    }

    /**
     * The batches of one epoch from its shuffled {@code order}: consecutive slices, or with {@code
     * lengths} pools of {@link #BUCKET_POOL} batches sorted by length, cut, and all batches
     * shuffled with {@code random}.
     */
    static List<int[]> batches(int[] order, int batchSize, int[] lengths, SplittableRandom random) {
        if (lengths == null) {
            return Sampling.batches(order, batchSize);
        }
        List<int[]> out = new ArrayList<>();
        int pool = batchSize * BUCKET_POOL;
        for (int from = 0; from < order.length; from += pool) {
            Integer[] chunk =
                    Arrays.stream(order, from, Math.min(order.length, from + pool))
                            .boxed()
                            .toArray(Integer[]::new);
            Arrays.sort(chunk, Comparator.comparingInt(i -> lengths[i])); // stable
            for (int b = 0; b < chunk.length; b += batchSize) {
                int[] rows = new int[Math.min(batchSize, chunk.length - b)];
                for (int i = 0; i < rows.length; i++) {
                    rows[i] = chunk[b + i];
                }
                out.add(rows);
            }
        }
        for (int i = out.size() - 1; i > 0; i--) {
            Collections.swap(out, i, random.nextInt(i + 1));
        }
        return out;
    }

    // the frozen prefix of every training example, computed once in length-sorted batches
    private void fillPrefixCache() {
        if (prefixCache == null) {
            prefixCache = FrozenPrefixes.compute(model, train, EVAL_BATCH);
        }
    }

    // the cached prefixes of rows, zero-padded to len tokens: [rows, len, hidden]
    private float[] gatherPrefix(int[] rows, int len) {
        return FrozenPrefixes.gather(prefixCache, rows, len, model.config().hiddenSize());
    }

    /** Rows {@code rows} of {@code data}, padded to their longest. */
    static TokenBatch gather(TokenBatch data, int[] rows) {
        int len = data.sequenceLength();
        long[] ids = new long[rows.length * len];
        long[] mask = new long[ids.length];
        long[] types = new long[ids.length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(data.inputIds(), rows[i] * len, ids, i * len, len);
            System.arraycopy(data.attentionMask(), rows[i] * len, mask, i * len, len);
            System.arraycopy(data.tokenTypeIds(), rows[i] * len, types, i * len, len);
        }
        return trim(new TokenBatch(rows.length, len, ids, mask, types));
    }

    /** The batch cut to its longest row (padding is at the end of every row). */
    static TokenBatch trim(TokenBatch b) {
        int longest = 1;
        for (int r = 0; r < b.batchSize(); r++) {
            longest = Math.max(longest, b.tokens(r));
        }
        int len = b.sequenceLength();
        if (longest == len) {
            return b;
        }
        long[] ids = new long[b.batchSize() * longest];
        long[] mask = new long[ids.length];
        long[] types = new long[ids.length];
        for (int r = 0; r < b.batchSize(); r++) {
            System.arraycopy(b.inputIds(), r * len, ids, r * longest, longest);
            System.arraycopy(b.attentionMask(), r * len, mask, r * longest, longest);
            System.arraycopy(b.tokenTypeIds(), r * len, types, r * longest, longest);
        }
        return new TokenBatch(b.batchSize(), longest, ids, mask, types);
    }

    private static int[] pick(int[] values, int[] rows) {
        int[] out = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = values[rows[i]];
        }
        return out;
    }

    /** Number of training examples. */
    public int numTrainExamples() {
        return trainLabels.length;
    }

    /** Number of held-out examples. */
    public int numEvalExamples() {
        return evalLabels.length;
    }

    /** Attended tokens of every training example (after truncation), for statistics. */
    public int[] trainTokenCounts() {
        int[] out = new int[train.batchSize()];
        for (int i = 0; i < out.length; i++) {
            out[i] = train.tokens(i);
        }
        return out;
    }

    public Options options() {
        return options;
    }
}
