package io.fedstream.aggregation.prompt;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The ablation FedDTPT compares against: average the clients' token embeddings position by position
 * and map each mean back to the nearest vocabulary token. The global prompt has the median prompt
 * length; position n averages the prompts that have a token there. Averaging discrete tokens'
 * vectors tends to land between words, which is why the paper finds it weak.
 */
public final class EmbeddingAverage {
    private EmbeddingAverage() {}

    public static List<String> merge(
            List<PromptMerge.ClientPrompt> prompts,
            TokenEmbeddings table,
            Predicate<String> allowed) {
        int length = PromptMerge.medianLength(prompts);
        List<String> out = new ArrayList<>(length);
        for (int n = 0; n < length; n++) {
            float[] mean = new float[table.dim()];
            int count = 0;
            for (PromptMerge.ClientPrompt p : prompts) {
                if (p.tokens().size() > n) {
                    float[] v = table.vector(p.tokens().get(n));
                    for (int d = 0; d < mean.length; d++) {
                        mean[d] += v[d];
                    }
                    count++;
                }
            }
            for (int d = 0; d < mean.length; d++) {
                mean[d] /= count;
            }
            out.add(table.nearest(mean, allowed));
        }
        return out;
    }
}
