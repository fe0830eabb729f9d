package io.fedstream.aggregation.prompt;

import java.util.List;

/**
 * FedDTPT's attention weights: token n of client k scores {@code s(k,n) = Σ_{j≠k} Σ_m cos(e(k,n),
 * e(j,m))}, the sum of its cosine similarities to every token of every other client's prompt, and
 * the weights are the softmax of the scores within each prompt: {@code a(k,n) = exp s(k,n) / Σ_n'
 * exp s(k,n')}. A token many other clients agree with gets a high weight; the weights of one prompt
 * sum to 1.
 */
public final class TokenAttention {
    private TokenAttention() {}

    /**
     * @param prompts per client, the embeddings of its prompt's tokens in order
     * @return per client, the weight of each of its tokens
     */
    public static double[][] weights(List<float[][]> prompts) {
        double[][] scores = scores(prompts);
        double[][] out = new double[scores.length][];
        for (int k = 0; k < scores.length; k++) {
            out[k] = softmax(scores[k]);
        }
        return out;
    }

    /** The scores s(k,n) before the softmax. */
    public static double[][] scores(List<float[][]> prompts) {
        double[][] out = new double[prompts.size()][];
        for (int k = 0; k < prompts.size(); k++) {
            float[][] own = prompts.get(k);
            out[k] = new double[own.length];
            for (int n = 0; n < own.length; n++) {
                double s = 0;
                for (int j = 0; j < prompts.size(); j++) {
                    if (j == k) {
                        continue;
                    }
                    for (float[] other : prompts.get(j)) {
                        s += Vectors.cosine(own[n], other);
                    }
                }
                out[k][n] = s;
            }
        }
        return out;
    }

    /** Numerically stable softmax (the maximum is subtracted first). */
    static double[] softmax(double[] x) {
        double[] out = new double[x.length];
        if (x.length == 0) {
            return out;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            out[i] = Math.exp(x[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < x.length; i++) {
            out[i] /= sum;
        }
        return out;
    }
}
