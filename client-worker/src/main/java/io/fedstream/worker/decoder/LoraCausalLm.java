package io.fedstream.worker.decoder;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.fedstream.worker.djl.AdapterModel;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.NdArrays;
import java.util.Arrays;

/**
 * One DJL {@link Model} holding a LoRA-adapted {@link CausalLm} for its whole life: adapter
 * exchange by name, logits, answer loss, greedy generation (with a KV cache) and training steps
 * that update only the adapter, with the loss on answer tokens only.
 *
 * <p>The adapter starts at version 0 of {@code adapterSpec(any id, seed)}. Not thread-safe; close
 * it to free the native memory.
 */
public final class LoraCausalLm extends AdapterModel<CausalLm> {

    /**
     * Initialises {@code block} (it takes its pretrained weights now) in a new model and loads the
     * adapter's version 0 for {@code seed}.
     */
    public LoraCausalLm(CausalLm block, long seed) {
        super("lora-causal-lm", block, seed, new Shape(1, 8), new Shape(1, 8));
    }

    public DecoderConfig config() {
        return block.config();
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
                    token = GreedyDecoding.argMaxLast(logits);
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
                token =
                        GreedyDecoding.argMaxLast(
                                block.forward(inferenceStore, new NDList(ids), false).head());
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

    /**
     * Starts training the adapter with Adam (fresh moments) at a fixed learning rate; dropout masks
     * restart from {@code seed}. One training at a time; close it before the next.
     */
    public Training newTraining(double learningRate, long seed) {
        return new Training((float) learningRate, seed);
    }

    /** Mini-batch training of the adapter on the answer tokens' cross-entropy. */
    public final class Training extends AdapterTraining {

        private Training(float learningRate, long seed) {
            super(learningRate, seed);
        }

        /**
         * One optimizer step: forward (training mode, LoRA dropout on), mean negative
         * log-likelihood of the batch's answer tokens, backward, Adam update of the adapter.
         *
         * @return the batch's mean answer loss before the update
         */
        public float step(CausalBatch batch) {
            checkOpen();
            try (DjlRuntime.NoGrad noGrad = DjlRuntime.noGrad();
                    NDManager batchScope = trainer.getManager().newSubManager()) {
                NDList in = batch.toLossInputs(batchScope);
                return stepWith(collector -> block.lossAndGradients(store, in, collector));
            }
        }
    }
}
