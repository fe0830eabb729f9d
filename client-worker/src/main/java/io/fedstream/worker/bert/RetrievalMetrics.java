package io.fedstream.worker.bert;

/**
 * Ranking metrics of dense retrieval, in plain Java: every query is scored against every key by dot
 * product (cosine for unit vectors), and the rank of its positive key decides.
 *
 * <ul>
 *   <li>recall@1: the share of queries whose positive key scores strictly highest (a tie with a
 *       negative counts as a miss, so a constant encoder cannot score);
 *   <li>mean reciprocal rank: the mean of {@code 1 / rank}, rank = 1 + the number of negatives
 *       scoring at least as high as the positive;
 *   <li>loss: the mean softmax cross-entropy of {@code scale · score} against the positive, the
 *       training objective on this candidate set.
 * </ul>
 */
public final class RetrievalMetrics {
    private RetrievalMetrics() {}

    /**
     * @param queries {@code [Q, hidden]} row-major
     * @param keys {@code [K, hidden]} row-major
     * @param positives the index of each query's positive key
     */
    public static RetrievalSiteTrainer.Ranking rank(
            float[] queries, float[] keys, int[] positives, int hidden, double scale) {
        int q = positives.length;
        if (queries.length != q * hidden || keys.length % hidden != 0 || keys.length == 0) {
            throw new IllegalArgumentException("queries must be [Q, hidden], keys [K, hidden]");
        }
        int k = keys.length / hidden;
        double hits = 0;
        double reciprocal = 0;
        double loss = 0;
        double[] scores = new double[k];
        for (int i = 0; i < q; i++) {
            int p = positives[i];
            if (p < 0 || p >= k) {
                throw new IllegalArgumentException("positive " + p + " outside [0, " + k + ")");
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                double s = 0;
                for (int d = 0; d < hidden; d++) {
                    s += (double) queries[i * hidden + d] * keys[j * hidden + d];
                }
                scores[j] = s;
                max = Math.max(max, s);
            }
            int rank = 1;
            for (int j = 0; j < k; j++) {
                if (j != p && scores[j] >= scores[p]) {
                    rank++;
                }
            }
            hits += rank == 1 ? 1 : 0;
            reciprocal += 1.0 / rank;
            double z = 0;
            for (int j = 0; j < k; j++) {
                z += Math.exp(scale * (scores[j] - max));
            }
            loss += Math.log(z) - scale * (scores[p] - max);
        }
        return new RetrievalSiteTrainer.Ranking(hits / q, reciprocal / q, loss / q, q);
    }
}
