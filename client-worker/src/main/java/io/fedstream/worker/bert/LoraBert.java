package io.fedstream.worker.bert;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.NdArrays;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One DJL {@link Model} holding a LoRA-adapted BERT ({@link BertEncoder} or {@link BertClassifier})
 * for its whole life: adapter exchange by name, inference, and training steps that update only the
 * adapter.
 *
 * <p>The adapter starts at version 0 of {@code adapterSpec(any id, seed)}, the same values the
 * federation creates from that seed. Not thread-safe; close it to free the native memory.
 */
public final class LoraBert implements AutoCloseable {
    // DJL's PtGradientCollector refuses a second collector anywhere in the JVM.

    private final AdapterBlock block;
    private final Model model;
    private final ParameterStore inferenceStore;
    private final Map<String, Parameter> adapter;
    private final List<TensorSpec> layout;
    private Training training;

    /**
     * Initialises {@code block} (it takes its pretrained weights now) in a new model and loads the
     * adapter's version 0 for {@code seed}.
     */
    public LoraBert(AdapterBlock block, long seed) {
        this.block = block;
        DjlRuntime.engine();
        this.model = Model.newInstance("lora-bert", Device.cpu(), DjlRuntime.ENGINE);
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad()) {
            model.setBlock(block);
            Shape tokens = new Shape(1, 8);
            block.initialize(model.getNDManager(), DataType.FLOAT32, tokens, tokens, tokens);
            inferenceStore = new ParameterStore(model.getNDManager(), false);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        this.adapter = Collections.unmodifiableMap(block.adapterParameters());
        this.layout = block.adapterTensors();
        if (!layout.isEmpty()) {
            setAdapter(new FederationSpec("init", seed, layout).initialValues());
        }
    }

    public AdapterBlock block() {
        return block;
    }

    public BertEncoder encoder() {
        return block.encoder();
    }

    public BertConfig config() {
        return block.encoder().config();
    }

    public Model model() {
        return model;
    }

    /** See {@link AdapterBlock#adapterSpec(String, long)}. */
    public FederationSpec adapterSpec(String federationId, long seed) {
        return block.adapterSpec(federationId, seed);
    }

    /** The exchanged tensor names, in spec order. */
    public List<String> adapterNames() {
        return new ArrayList<>(adapter.keySet());
    }

    /** Number of trainable (exchanged) values. */
    public long adapterSize() {
        long n = 0;
        for (TensorSpec t : layout) {
            n += t.size();
        }
        return n;
    }

    /** The current adapter values, in spec order. */
    public Map<String, float[]> getAdapter() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : adapter.keySet()) {
            out.put(name, getAdapterTensor(name));
        }
        return out;
    }

    /** One adapter tensor, row-major. */
    public float[] getAdapterTensor(String name) {
        return parameter(name).getArray().toFloatArray();
    }

    /** Writes every adapter tensor; {@code values} must hold exactly the spec's tensors. */
    public void setAdapter(Map<String, float[]> values) {
        if (!values.keySet().equals(adapter.keySet())) {
            throw new IllegalArgumentException(
                    "adapter tensors " + values.keySet() + " do not match " + adapter.keySet());
        }
        for (TensorSpec t : layout) {
            checkSize(t, values.get(t.name()));
        }
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            setAdapterTensor(e.getKey(), e.getValue());
        }
    }

    /**
     * Copies {@code values} into one adapter tensor in place (same array and storage, new values).
     */
    public void setAdapterTensor(String name, float[] values) {
        Parameter p = parameter(name);
        NDArray target = p.getArray();
        if (values.length != target.size()) {
            throw new IllegalArgumentException(
                    name + " has " + target.size() + " values, got " + values.length);
        }
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            NDArray source = NdArrays.create(scope, values, target.getShape());
            target.set(new NDIndex(":"), source);
        }
    }

    private Parameter parameter(String name) {
        Parameter p = adapter.get(name);
        if (p == null) {
            throw new IllegalArgumentException(
                    "no adapter tensor " + name + "; have " + adapter.keySet());
        }
        return p;
    }

    private static void checkSize(TensorSpec t, float[] v) {
        if (v == null || v.length != t.size()) {
            throw new IllegalArgumentException(
                    "tensor " + t.name() + " needs " + t.size() + " values");
        }
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
        if (training != null) {
            throw new IllegalStateException("a training is already open");
        }
        if (adapter.isEmpty()) {
            throw new IllegalStateException("nothing to train: no adapter tensors");
        }
        training = new Training((float) learningRate, seed);
        return training;
    }

    @Override
    public void close() {
        if (training != null) {
            training.close();
        }
        model.close();
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
    public final class Training implements AutoCloseable {
        private final NDManager scope;
        private final Trainer trainer;
        private final int numClasses;
        private long steps;
        private boolean closed;

        private Training(float learningRate, long seed) {
            block.seedDropout(seed);
            numClasses = block instanceof BertClassifier c ? c.numClasses() : 0;
            // the optimizer's moments and any array derived from the trainable ones during
            // training (gradient handles) live in this scope and are freed with it
            scope = model.getNDManager().newSubManager();
            for (Parameter p : adapter.values()) {
                p.getArray().tempAttach(scope);
            }
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(
                                    new io.fedstream.worker.djl.RoundAdam(learningRate, scope))
                            .optDevices(new Device[] {Device.cpu()});
            trainer = model.newTrainer(config);
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
            if (closed) {
                throw new IllegalStateException("training is closed");
            }
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
                        DjlRuntime.step(
                                trainer,
                                adapter.values(),
                                t -> {
                                    NDArray h = t.forward(in).singletonOrThrow();
                                    NDArray q = normalize(BertEncoder.meanPool(h, in.get(1)));
                                    return crossEntropy(q.matMul(k.transpose()).mul(s), target);
                                });
            }
            steps++;
            return loss;
        }

        private float step(TokenBatch batch, float[] prefix, int[] labels) {
            if (numClasses == 0) {
                throw new IllegalStateException("this model has no classification head");
            }
            if (closed) {
                throw new IllegalStateException("training is closed");
            }
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
                loss =
                        DjlRuntime.step(
                                trainer,
                                adapter.values(),
                                t -> crossEntropy(t.forward(input).singletonOrThrow(), target));
            }
            steps++;
            return loss;
        }

        /** Steps taken so far. */
        public long steps() {
            return steps;
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                trainer.close();
            } finally {
                scope.close();
                training = null;
            }
        }
    }

    /** Mean over rows of {@code -sum_c target[c] * log_softmax(logits)[c]}. */
    static NDArray crossEntropy(NDArray logits, NDArray oneHot) {
        return logits.logSoftmax(1).mul(oneHot).sum(new int[] {1}).neg().mean();
    }
}
