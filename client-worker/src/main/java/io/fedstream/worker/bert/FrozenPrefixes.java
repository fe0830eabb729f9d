package io.fedstream.worker.bert;

import java.util.Arrays;
import java.util.Comparator;

/**
 * The frozen prefix ({@link LoraBert#frozenPrefix}: embeddings and the layers below the first
 * adapted one) of every row of a batch, computed once in length-sorted batches and kept unpadded
 * ({@code tokens × hidden} floats a row), and gathered back zero-padded for a step. Shared by the
 * encoder's trainers, which feed the prefixes instead of the tokens on every later epoch and round.
 */
public final class FrozenPrefixes {
    private FrozenPrefixes() {}

    /** The unpadded prefix of every row of {@code data}, computed {@code batch} rows at a time. */
    static float[][] compute(LoraBert model, TokenBatch data, int batch) {
        int n = data.batchSize();
        int hidden = model.config().hiddenSize();
        Integer[] byLength = new Integer[n];
        for (int i = 0; i < n; i++) {
            byLength[i] = i;
        }
        Arrays.sort(byLength, Comparator.comparingInt(data::tokens));
        float[][] cache = new float[n][];
        for (int from = 0; from < n; from += batch) {
            int[] rows = new int[Math.min(batch, n - from)];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = byLength[from + i];
            }
            TokenBatch b = BertSiteTrainer.gather(data, rows);
            float[] p = model.frozenPrefix(b);
            int len = b.sequenceLength();
            for (int i = 0; i < rows.length; i++) {
                int off = i * len * hidden;
                cache[rows[i]] = Arrays.copyOfRange(p, off, off + data.tokens(rows[i]) * hidden);
            }
        }
        return cache;
    }

    /**
     * The cached prefixes of {@code rows}, zero-padded to {@code len} tokens: {@code [rows, len,
     * hidden]}.
     */
    static float[] gather(float[][] cache, int[] rows, int len, int hidden) {
        float[] out = new float[rows.length * len * hidden];
        for (int i = 0; i < rows.length; i++) {
            float[] p = cache[rows[i]];
            System.arraycopy(p, 0, out, i * len * hidden, p.length);
        }
        return out;
    }
}
