package io.fedstream.worker.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.NdArrays;
import java.util.Arrays;
import java.util.function.Predicate;

/**
 * Greedy decoding with a KV cache (as {@link LoraCausalLm#generate}) that can also stop when the
 * tokens generated so far satisfy a condition, e.g. their text contains a stop sequence: a
 * generator asked for one line then costs one line, not {@code maxNewTokens} tokens.
 */
public final class GreedyDecoding {

    private GreedyDecoding() {}

    /**
     * Generates up to {@code maxNewTokens} tokens after {@code prompt} with the model's current
     * adapter, stopping at EOS (not returned), at the model's last position, or as soon as {@code
     * stop} holds for the tokens generated so far (they are returned, the caller cuts the text). A
     * prompt longer than the context allows is cut from the left (keeping BOS when it starts with
     * it) so that at least {@code min(maxNewTokens, context / 2)} tokens fit after it.
     */
    public static long[] generate(
            LoraCausalLm lm, long[] prompt, int maxNewTokens, Predicate<long[]> stop) {
        DecoderConfig config = lm.config();
        long[] p = fit(config, prompt, maxNewTokens);
        long[] out = new long[maxNewTokens];
        int n = 0;
        ParameterStore store = new ParameterStore(lm.model().getNDManager(), false);
        try (DjlRuntime.NoGrad ignored = DjlRuntime.noGrad();
                NDManager generation = lm.model().getNDManager().newSubManager()) {
            CausalLm.KvCache cache = lm.block().newCache();
            long[] next = p;
            while (n < maxNewTokens && cache.length() + next.length <= config.maxPositions()) {
                long token;
                try (NDManager step = generation.newSubManager()) {
                    NDArray ids = NdArrays.create(step, next, new Shape(1, next.length));
                    NDArray logits = lm.block().forwardCached(store, ids, cache);
                    token = argMaxLast(logits);
                    cache.attach(generation);
                }
                if (config.isEos(token)) {
                    break;
                }
                out[n++] = token;
                if (stop.test(Arrays.copyOf(out, n))) {
                    break;
                }
                next = new long[] {token};
            }
        }
        return Arrays.copyOf(out, n);
    }

    // the prompt cut from the left to leave room for the answer
    static long[] fit(DecoderConfig config, long[] prompt, int maxNewTokens) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("an empty prompt");
        }
        int room = Math.min(maxNewTokens, config.maxPositions() / 2);
        int budget = config.maxPositions() - room;
        if (prompt.length <= budget) {
            return prompt;
        }
        boolean bos = config.hasBos() && prompt[0] == config.bosTokenId();
        long[] out = new long[budget];
        int keep = bos ? budget - 1 : budget;
        System.arraycopy(prompt, prompt.length - keep, out, budget - keep, keep);
        if (bos) {
            out[0] = config.bosTokenId();
        }
        return out;
    }

    /** The index of the largest logit at the last position of {@code [1, T, V]} (first on ties). */
    static long argMaxLast(NDArray logits) {
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
}
