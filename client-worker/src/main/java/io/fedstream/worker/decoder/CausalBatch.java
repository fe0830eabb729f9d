package io.fedstream.worker.decoder;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.fedstream.worker.djl.NdArrays;
import java.util.Arrays;
import java.util.List;

/**
 * Token sequences for a causal LM, row-major {@code [batchSize, sequenceLength]}, padded at the end
 * of each row: ids, attention mask (1 = token, 0 = padding) and loss mask (1 = an answer token the
 * model is trained and scored on predicting; 0 for prompt tokens and padding).
 */
public record CausalBatch(
        int batchSize, int sequenceLength, long[] inputIds, long[] attentionMask, long[] lossMask) {

    public CausalBatch {
        if (batchSize <= 0 || sequenceLength <= 0) {
            throw new IllegalArgumentException("a batch needs rows and tokens");
        }
        int n = batchSize * sequenceLength;
        if (inputIds.length != n || attentionMask.length != n || lossMask.length != n) {
            throw new IllegalArgumentException(
                    "arrays do not match [" + batchSize + ", " + sequenceLength + "]");
        }
    }

    /**
     * One row per (prompt, answer) pair: {@code prompt ++ answer}, the loss on the answer tokens,
     * padded with id 0 to the longest row.
     */
    public static CausalBatch of(List<long[]> prompts, List<long[]> answers) {
        if (prompts.isEmpty() || prompts.size() != answers.size()) {
            throw new IllegalArgumentException("one answer per prompt needed");
        }
        int rows = prompts.size();
        int len = 1;
        for (int i = 0; i < rows; i++) {
            len = Math.max(len, prompts.get(i).length + answers.get(i).length);
        }
        long[] ids = new long[rows * len];
        long[] mask = new long[ids.length];
        long[] loss = new long[ids.length];
        for (int i = 0; i < rows; i++) {
            long[] p = prompts.get(i);
            long[] a = answers.get(i);
            System.arraycopy(p, 0, ids, i * len, p.length);
            System.arraycopy(a, 0, ids, i * len + p.length, a.length);
            Arrays.fill(mask, i * len, i * len + p.length + a.length, 1);
            Arrays.fill(loss, i * len + p.length, i * len + p.length + a.length, 1);
        }
        return new CausalBatch(rows, len, ids, mask, loss);
    }

    /**
     * Tokenizes an instruction example: the prompt is {@code [BOS] prompt} and the answer {@code
     * answer [EOS]} (with the ids {@code config} defines), the prompt cut from the left and then
     * the answer from the right so that the row holds at most {@code maxTokens} tokens and at least
     * one answer token.
     *
     * @return {@code [prompt ids, answer ids]}
     */
    public static long[][] encode(
            HuggingFaceTokenizer tokenizer,
            DecoderConfig config,
            String prompt,
            String answer,
            int maxTokens) {
        long[] p = tokenizer.encode(prompt).getIds();
        long[] a = tokenizer.encode(answer).getIds();
        if (config.hasBos()) {
            p = prepend(config.bosTokenId(), p);
        }
        if (config.hasEos()) {
            a = Arrays.copyOf(a, a.length + 1);
            a[a.length - 1] = config.eosTokenId();
        }
        return fit(p, a, maxTokens);
    }

    /**
     * Cuts the prompt from the left and then the answer from the right so that they hold at most
     * {@code maxTokens} tokens, at least one of them answer: {@code [prompt, answer]}.
     */
    static long[][] fit(long[] p, long[] a, int maxTokens) {
        if (maxTokens < 2) {
            throw new IllegalArgumentException("maxTokens must be at least 2");
        }
        // keep at most half the budget for the prompt if the answer needs it
        int answerBudget = Math.max(maxTokens / 2, maxTokens - p.length);
        if (a.length > answerBudget) {
            a = Arrays.copyOf(a, answerBudget);
        }
        int promptBudget = maxTokens - a.length;
        if (p.length > promptBudget) {
            p = Arrays.copyOfRange(p, p.length - promptBudget, p.length);
        }
        return new long[][] {p, a};
    }

    private static long[] prepend(long first, long[] rest) {
        long[] out = new long[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }

    /** Number of tokens of row {@code row}. */
    public int tokens(int row) {
        int n = 0;
        for (int t = 0; t < sequenceLength; t++) {
            n += attentionMask[row * sequenceLength + t] != 0 ? 1 : 0;
        }
        return n;
    }

    /** Number of scored (answer) tokens in the batch. */
    public int answerTokens() {
        int n = 0;
        for (int t = 1; t < lossMask.length; t++) {
            n += lossMask[t] != 0 && t % sequenceLength != 0 ? 1 : 0;
        }
        return n;
    }

    /**
     * The prediction positions of the answer tokens: {@code [0]} flat indices {@code b * T + t - 1}
     * (the position whose output predicts token {@code t}), {@code [1]} the target ids {@code
     * ids[b, t]}, for every answer token at {@code t >= 1}.
     */
    public long[][] lossTargets() {
        int n = answerTokens();
        long[] positions = new long[n];
        long[] targets = new long[n];
        int k = 0;
        for (int i = 0; i < lossMask.length; i++) {
            if (lossMask[i] != 0 && i % sequenceLength != 0) {
                positions[k] = i - 1;
                targets[k] = inputIds[i];
                k++;
            }
        }
        return new long[][] {positions, targets};
    }

    /** Rows {@code rows} (in that order), cut to their longest. */
    public CausalBatch select(int[] rows) {
        int longest = 1;
        for (int r : rows) {
            longest = Math.max(longest, tokens(r));
        }
        int len = sequenceLength;
        long[] ids = new long[rows.length * longest];
        long[] mask = new long[ids.length];
        long[] loss = new long[ids.length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(inputIds, rows[i] * len, ids, i * longest, longest);
            System.arraycopy(attentionMask, rows[i] * len, mask, i * longest, longest);
            System.arraycopy(lossMask, rows[i] * len, loss, i * longest, longest);
        }
        return new CausalBatch(rows.length, longest, ids, mask, loss);
    }

    /** {@code (inputIds, attentionMask)} as int64 arrays in {@code manager}. */
    public NDList toNDList(NDManager manager) {
        Shape shape = new Shape(batchSize, sequenceLength);
        return new NDList(
                NdArrays.create(manager, inputIds, shape),
                NdArrays.create(manager, attentionMask, shape));
    }

    /** {@link #toNDList} plus the answer tokens' positions and targets. */
    public NDList toLossInputs(NDManager manager) {
        long[][] pt = lossTargets();
        if (pt[0].length == 0) {
            throw new IllegalArgumentException("the batch has no answer tokens to score");
        }
        NDList in = toNDList(manager);
        Shape n = new Shape(pt[0].length);
        in.add(NdArrays.create(manager, pt[0], n));
        in.add(NdArrays.create(manager, pt[1], n));
        return in;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CausalBatch b
                && batchSize == b.batchSize
                && sequenceLength == b.sequenceLength
                && Arrays.equals(inputIds, b.inputIds)
                && Arrays.equals(attentionMask, b.attentionMask)
                && Arrays.equals(lossMask, b.lossMask);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * batchSize + sequenceLength) + Arrays.hashCode(inputIds);
    }

    @Override
    public String toString() {
        return "CausalBatch[" + batchSize + " x " + sequenceLength + "]";
    }
}
