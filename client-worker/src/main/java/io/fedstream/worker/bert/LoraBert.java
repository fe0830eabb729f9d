package io.fedstream.worker.bert;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.fedstream.worker.djl.AdapterModel;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.NdArrays;

/**
 * One DJL {@link Model} holding a LoRA-adapted BERT ({@link BertEncoder} or {@link BertClassifier})
 * for its whole life: adapter exchange by name, inference, and training steps that update only the
 * adapter.
 *
 * <p>The adapter starts at version 0 of {@code adapterSpec(any id, seed)}, the same values the
 * federation creates from that seed. Not thread-safe; close it to free the native memory.
 */
public final class LoraBert extends AdapterModel<AdapterBlock> {

    /**
     * Initialises {@code block} (it takes its pretrained weights now) in a new model and loads the
     * adapter's version 0 for {@code seed}.
     */
    public LoraBert(AdapterBlock block, long seed) {
        super("lora-bert", block, seed, new Shape(1, 8), new Shape(1, 8), new Shape(1, 8));
    }

    public BertEncoder encoder() {
        return block.encoder();
    }

    public BertConfig config() {
        return block.encoder().config();
    }

    /** The encoder's last hidden states, {@code [B, T, H]} row-major (inference mode). */
    public float[] lastHiddenState(TokenBatch batch) {
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            NDList in = batch.toNDList(scope);
            return block.encoder()
                    .forward(inferenceStore, in, false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    /**
     * Mean-pooled sentence embeddings {@code [B, H]}; with {@code normalize} scaled to unit L2 norm
     * (what all-MiniLM-L6-v2 and langchain4j return).
     */
    public float[] sentenceEmbeddings(TokenBatch batch, boolean normalize) {
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            NDList in = batch.toNDList(scope);
            NDArray h = block.encoder().forward(inferenceStore, in, false).singletonOrThrow();
            NDArray pooled = BertEncoder.meanPool(h, in.get(1));
            if (normalize) {
                NDArray eps = NdArrays.scalar(scope, 1e-12f);
                pooled = pooled.div(pooled.norm(new int[] {1}, true).maximum(eps));
            }
            return pooled.toFloatArray();
        }
    }

    /**
     * The encoder's hidden states below its first adapted layer, {@code [B, T, H]} row-major
     * (inference mode; see {@link BertEncoder#frozenPrefix}). Independent of the adapter.
     */
    public float[] frozenPrefix(TokenBatch batch) {
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            return block.encoder()
                    .frozenPrefix(inferenceStore, batch.toNDList(scope))
                    .toFloatArray();
        }
    }

    /** Class logits {@code [B, classes]} (inference mode); needs a {@link BertClassifier}. */
    public float[] logits(TokenBatch batch) {
        BertClassifier classifier = classifier();
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            return classifier
                    .forward(inferenceStore, batch.toNDList(scope), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    private BertClassifier classifier() {
        if (block instanceof BertClassifier c) {
            return c;
        }
        throw new IllegalStateException("this model has no classification head");
    }

    /**
     * Starts training the adapter with Adam (fresh moments) at a fixed learning rate; dropout masks
     * restart from {@code seed}. One training at a time; close it before the next.
     */
    public Training newTraining(double learningRate, long seed) {
        return new Training((float) learningRate, seed);
    }

    /**
     * Normalised mean-pooled sentence embeddings {@code [B, H]} computed from cached hidden states
     * ({@link #frozenPrefix} of {@code batch}), through the adapted layers (inference mode). Equal
     * to {@link #sentenceEmbeddings}{@code (batch, true)} up to float rounding.
     */
    public float[] sentenceEmbeddingsFromPrefix(float[] prefix, TokenBatch batch) {
        checkPrefix(prefix, batch);
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            NDList in = prefixInput(scope, prefix, batch);
            NDArray h = block.encoder().forward(inferenceStore, in, false).singletonOrThrow();
            return normalize(BertEncoder.meanPool(h, in.get(1))).toFloatArray();
        }
    }

    private void checkPrefix(float[] prefix, TokenBatch batch) {
        if (prefix.length != batch.batchSize() * batch.sequenceLength() * config().hiddenSize()) {
            throw new IllegalArgumentException("prefix does not match the batch");
        }
    }

    private NDList prefixInput(NDManager scope, float[] prefix, TokenBatch batch) {
        NDList in = batch.toNDList(scope);
        Shape hiddenShape =
                new Shape(batch.batchSize(), batch.sequenceLength(), config().hiddenSize());
        return new NDList(NdArrays.create(scope, prefix, hiddenShape), in.get(1));
    }

    private static NDArray normalize(NDArray pooled) {
        NDArray eps = NdArrays.scalar(pooled.getManager(), 1e-12f);
        return pooled.div(pooled.norm(new int[] {1}, true).maximum(eps));
    }

    /**
     * Mini-batch training of the adapter: with a classification head, softmax cross-entropy over
     * the classes; on a bare encoder, a contrastive retrieval loss against fixed keys ({@link
     * #retrievalStepFromPrefix}).
     */
    public final class Training extends AdapterTraining {
        private final int numClasses;

        private Training(float learningRate, long seed) {
            super(learningRate, seed);
            numClasses = block instanceof BertClassifier c ? c.numClasses() : 0;
        }

        /**
         * One optimizer step on a batch: forward (training mode, LoRA dropout on), mean softmax
         * cross-entropy against {@code labels}, backward, Adam update of the adapter tensors.
         *
         * @return the batch's loss before the update
         */
        public float step(TokenBatch batch, int[] labels) {
            return step(batch, null, labels);
        }

        /**
         * {@link #step(TokenBatch, int[])} starting from cached hidden states: {@code prefix}
         * {@code [B, T, H]} row-major, what {@link LoraBert#frozenPrefix} returns for {@code batch}
         * (whose attention mask and shape are used). The result is the same as the full forward
         * pass.
         */
        public float stepFromPrefix(float[] prefix, TokenBatch batch, int[] labels) {
            int hidden = config().hiddenSize();
            if (prefix.length != batch.batchSize() * batch.sequenceLength() * hidden) {
                throw new IllegalArgumentException("prefix does not match the batch");
            }
            return step(batch, prefix, labels);
        }

        /**
         * One optimizer step of query-side contrastive retrieval (the InfoNCE / multiple-negatives
         * ranking loss of sentence-transformers with fixed keys): the batch's texts, from their
         * cached {@code prefix}, are encoded by the adapted layers into normalised mean-pooled
         * embeddings {@code q [B, H]}; {@code keys [N, H]} (row-major, normalised, not trained) are
         * the candidates; the loss is the mean softmax cross-entropy of {@code scale · q kᵀ}
         * against {@code labels} (the index of each row's positive key).
         *
         * @return the batch's loss before the update
         */
        public float retrievalStepFromPrefix(
                float[] prefix, TokenBatch batch, float[] keys, int[] labels, float scale) {
            checkOpen();
            checkPrefix(prefix, batch);
            if (!(block instanceof BertEncoder)) {
                throw new IllegalStateException("retrieval trains a bare encoder, not " + block);
            }
            int hidden = config().hiddenSize();
            if (keys.length == 0 || keys.length % hidden != 0) {
                throw new IllegalArgumentException("keys must be [N, " + hidden + "]");
            }
            int numKeys = keys.length / hidden;
            if (labels.length != batch.batchSize()) {
                throw new IllegalArgumentException("one label per row needed");
            }
            float[] oneHot = new float[labels.length * numKeys];
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] < 0 || labels[i] >= numKeys) {
                    throw new IllegalArgumentException("label " + labels[i] + " out of range");
                }
                oneHot[i * numKeys + labels[i]] = 1;
            }
            float loss;
            try (DjlRuntime.NoGrad noGrad = DjlRuntime.noGrad();
                    NDManager batchScope = trainer.getManager().newSubManager()) {
                NDList in = prefixInput(batchScope, prefix, batch);
                NDArray k = NdArrays.create(batchScope, keys, new Shape(numKeys, hidden));
                NDArray target =
                        NdArrays.create(batchScope, oneHot, new Shape(labels.length, numKeys));
                NDArray s = NdArrays.scalar(batchScope, scale);
                loss =
                        step(
                                t -> {
                                    NDArray h = t.forward(in).singletonOrThrow();
                                    NDArray q = normalize(BertEncoder.meanPool(h, in.get(1)));
                                    return crossEntropy(q.matMul(k.transpose()).mul(s), target);
                                });
            }
            return loss;
        }

        private float step(TokenBatch batch, float[] prefix, int[] labels) {
            if (numClasses == 0) {
                throw new IllegalStateException("this model has no classification head");
            }
            checkOpen();
            if (labels.length != batch.batchSize()) {
                throw new IllegalArgumentException("one label per row needed");
            }
            float[] oneHot = new float[labels.length * numClasses];
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] < 0 || labels[i] >= numClasses) {
                    throw new IllegalArgumentException("label " + labels[i] + " out of range");
                }
                oneHot[i * numClasses + labels[i]] = 1;
            }
            float loss;
            try (DjlRuntime.NoGrad noGrad = DjlRuntime.noGrad();
                    NDManager batchScope = trainer.getManager().newSubManager()) {
                NDList in = batch.toNDList(batchScope);
                if (prefix != null) {
                    Shape hiddenShape =
                            new Shape(
                                    batch.batchSize(),
                                    batch.sequenceLength(),
                                    config().hiddenSize());
                    in = new NDList(NdArrays.create(batchScope, prefix, hiddenShape), in.get(1));
                }
                NDArray target =
                        NdArrays.create(batchScope, oneHot, new Shape(labels.length, numClasses));
                NDList input = in;
                loss = step(t -> crossEntropy(t.forward(input).singletonOrThrow(), target));
            }
            return loss;
        }
    }

    /** Mean over rows of {@code -sum_c target[c] * log_softmax(logits)[c]}. */
    static NDArray crossEntropy(NDArray logits, NDArray oneHot) {
        return logits.logSoftmax(1).mul(oneHot).sum(new int[] {1}).neg().mean();
    }
}
