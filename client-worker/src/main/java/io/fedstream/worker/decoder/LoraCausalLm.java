package io.fedstream.worker.decoder;

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
import io.fedstream.worker.djl.RoundAdam;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One DJL {@link Model} holding a LoRA-adapted {@link CausalLm} for its whole life: adapter
 * exchange by name, logits, answer loss, greedy generation (with a KV cache) and training steps
 * that update only the adapter, with the loss on answer tokens only.
 *
 * <p>The adapter starts at version 0 of {@code adapterSpec(any id, seed)}. Not thread-safe; close
 * it to free the native memory.
 */
public final class LoraCausalLm implements AutoCloseable {
    private final CausalLm block;
    private final Model model;
    private final ParameterStore inferenceStore;
    private final Map<String, Parameter> adapter;
    private final List<TensorSpec> layout;
    private Training training;

    /**
     * Initialises {@code block} (it takes its pretrained weights now) in a new model and loads the
     * adapter's version 0 for {@code seed}.
     */
    public LoraCausalLm(CausalLm block, long seed) {
        this.block = block;
        DjlRuntime.engine();
        this.model = Model.newInstance("lora-causal-lm", Device.cpu(), DjlRuntime.ENGINE);
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad()) {
            model.setBlock(block);
            Shape tokens = new Shape(1, 8);
            block.initialize(model.getNDManager(), DataType.FLOAT32, tokens, tokens);
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

    public CausalLm block() {
        return block;
    }

    public Model model() {
        return model;
    }

    public DecoderConfig config() {
        return block.config();
    }

    /**
     * The federation contract: exactly the adapter tensors (see {@link CausalLm#adapterTensors}).
     */
    public FederationSpec adapterSpec(String federationId, long seed) {
        return new FederationSpec(federationId, seed, layout);
    }

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
        for (Map.Entry<String, Parameter> e : adapter.entrySet()) {
            out.put(e.getKey(), e.getValue().getArray().toFloatArray());
        }
        return out;
    }

    /** Writes every adapter tensor; {@code values} must hold exactly the spec's tensors. */
    public void setAdapter(Map<String, float[]> values) {
        if (!values.keySet().equals(adapter.keySet())) {
            throw new IllegalArgumentException(
                    "adapter tensors " + values.keySet() + " do not match " + adapter.keySet());
        }
        for (TensorSpec t : layout) {
            float[] v = values.get(t.name());
            if (v == null || v.length != t.size()) {
                throw new IllegalArgumentException(
                        "tensor " + t.name() + " needs " + t.size() + " values");
            }
        }
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            for (Map.Entry<String, float[]> e : values.entrySet()) {
                NDArray target = adapter.get(e.getKey()).getArray();
                target.set(
                        new NDIndex(":"), NdArrays.create(scope, e.getValue(), target.getShape()));
            }
        }
    }

    /** Logits {@code [B, T, V]} row-major (inference mode). */
    public float[] logits(CausalBatch batch) {
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            return block.forward(inferenceStore, batch.toNDList(scope), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    /**
     * Answer loss: the summed negative log-likelihood of a batch's answer tokens and their count.
     */
    public record AnswerLoss(double sumNll, long tokens, long correct) {
        /** Mean NLL per answer token. */
        public double mean() {
            return tokens == 0 ? Double.NaN : sumNll / tokens;
        }

        /** {@code exp(mean NLL)}. */
        public double perplexity() {
            return Math.exp(mean());
        }

        /** Share of answer tokens that are the model's most likely next token. */
        public double accuracy() {
            return tokens == 0 ? Double.NaN : (double) correct / tokens;
        }

        public AnswerLoss plus(AnswerLoss o) {
            return new AnswerLoss(sumNll + o.sumNll, tokens + o.tokens, correct + o.correct);
        }
    }

    /** The answer tokens' negative log-likelihood under the current adapter (inference mode). */
    public AnswerLoss answerLoss(CausalBatch batch) {
        if (batch.answerTokens() == 0) {
            return new AnswerLoss(0, 0, 0);
        }
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager scope = model.getNDManager().newSubManager()) {
            NDList in = batch.toLossInputs(scope);
            NDList out = block.forward(inferenceStore, in, false);
            float[] logp = out.get(0).toFloatArray();
            long[] predicted = out.get(1).toLongArray();
            long[] targets = in.get(3).toLongArray();
            double sum = 0;
            long correct = 0;
            for (int i = 0; i < logp.length; i++) {
                sum -= logp[i];
                correct += predicted[i] == targets[i] ? 1 : 0;
            }
            return new AnswerLoss(sum, logp.length, correct);
        }
    }

    /**
     * Greedy decoding with a KV cache: the most likely next token, appended, until {@code
     * maxNewTokens} tokens, the model's EOS (not returned) or its last position.
     *
     * @return the generated tokens (without the prompt)
     */
    public long[] generate(long[] prompt, int maxNewTokens) {
        checkPrompt(prompt);
        long[] out = new long[maxNewTokens];
        int n = 0;
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager generation = model.getNDManager().newSubManager()) {
            CausalLm.KvCache cache = block.newCache();
            long[] next = prompt;
            while (n < maxNewTokens && cache.length() + next.length <= config().maxPositions()) {
                long token;
                try (NDManager step = generation.newSubManager()) {
                    NDArray ids = NdArrays.create(step, next, new Shape(1, next.length));
                    NDArray logits = block.forwardCached(inferenceStore, ids, cache);
                    token = argMaxLast(logits);
                    cache.attach(generation);
                }
                if (config().isEos(token)) {
                    break;
                }
                out[n++] = token;
                next = new long[] {token};
            }
        }
        return Arrays.copyOf(out, n);
    }

    /**
     * Greedy decoding that recomputes the whole sequence at every step (no cache): the reference
     * {@link #generate} must agree with.
     */
    public long[] generateWithoutCache(long[] prompt, int maxNewTokens) {
        checkPrompt(prompt);
        long[] seq = prompt.clone();
        int n = 0;
        while (n < maxNewTokens && seq.length < config().maxPositions()) {
            long token;
            try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                    NDManager scope = model.getNDManager().newSubManager()) {
                NDArray ids = NdArrays.create(scope, seq, new Shape(1, seq.length));
                token = argMaxLast(block.forward(inferenceStore, new NDList(ids), false).head());
            }
            if (config().isEos(token)) {
                break;
            }
            seq = Arrays.copyOf(seq, seq.length + 1);
            seq[seq.length - 1] = token;
            n++;
        }
        return Arrays.copyOfRange(seq, prompt.length, seq.length);
    }

    private void checkPrompt(long[] prompt) {
        if (prompt.length == 0 || prompt.length > config().maxPositions()) {
            throw new IllegalArgumentException(
                    "a prompt needs 1 to " + config().maxPositions() + " tokens");
        }
    }

    // the index of the largest logit at the last position of [1, T, V] (first on ties)
    private static long argMaxLast(NDArray logits) {
        long t = logits.getShape().get(1);
        float[] last = logits.get(new NDIndex("0, " + (t - 1))).toFloatArray();
        int best = 0;
        for (int i = 1; i < last.length; i++) {
            if (last[i] > last[best]) {
                best = i;
            }
        }
        return best;
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
            throw new IllegalStateException("the model has no adapter to train");
        }
        training = new Training((float) learningRate, seed);
        return training;
    }

    /** Mini-batch training of the adapter on the answer tokens' cross-entropy. */
    public final class Training implements AutoCloseable {
        private final NDManager scope;
        private final Trainer trainer;
        private long steps;
        private boolean closed;

        private Training(float learningRate, long seed) {
            block.seedDropout(seed);
            scope = model.getNDManager().newSubManager();
            for (Parameter p : adapter.values()) {
                p.getArray().tempAttach(scope);
            }
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                            .optOptimizer(new RoundAdam(learningRate, scope))
                            .optDevices(new Device[] {Device.cpu()});
            trainer = model.newTrainer(config);
        }

        /**
         * One optimizer step: forward (training mode, LoRA dropout on), mean negative
         * log-likelihood of the batch's answer tokens, backward, Adam update of the adapter.
         *
         * @return the batch's mean answer loss before the update
         */
        public float step(CausalBatch batch) {
            if (closed) {
                throw new IllegalStateException("training is closed");
            }
            float loss;
            try (DjlRuntime.NoGrad noGrad = DjlRuntime.noGrad();
                    NDManager batchScope = trainer.getManager().newSubManager()) {
                NDList in = batch.toLossInputs(batchScope);
                loss =
                        DjlRuntime.step(
                                trainer, adapter.values(), t -> t.forward(in).get(0).mean().neg());
            }
            steps++;
            return loss;
        }

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

    @Override
    public void close() {
        if (training != null) {
            training.close();
        }
        model.close();
    }
}
