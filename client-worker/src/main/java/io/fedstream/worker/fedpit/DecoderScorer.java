package io.fedstream.worker.fedpit;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.decoder.CausalBatch;
import io.fedstream.worker.decoder.LoraCausalLm;
import java.util.List;

/**
 * Mean answer-token NLL under the model's current state, for IFS: each (prompt, answer) is
 * tokenised as {@link CausalBatch#encode} does for training ({@code [BOS] prompt}, {@code answer
 * [EOS]}, at most {@code maxTokens}), so an empty prompt scores the answer after BOS alone.
 */
public final class DecoderScorer implements AnswerScorer {
    private final LoraCausalLm lm;
    private final HuggingFaceTokenizer tokenizer;
    private final int maxTokens;

    public DecoderScorer(LoraCausalLm lm, HuggingFaceTokenizer tokenizer, int maxTokens) {
        this.lm = lm;
        this.tokenizer = tokenizer;
        this.maxTokens = maxTokens;
    }

    @Override
    public double[] meanNll(List<String> prompts, List<String> answers) {
        if (prompts.size() != answers.size()) {
            throw new IllegalArgumentException("one answer per prompt needed");
        }
        double[] out = new double[prompts.size()];
        synchronized (lm) {
            for (int i = 0; i < out.length; i++) {
                long[][] pa =
                        CausalBatch.encode(
                                tokenizer, lm.config(), prompts.get(i), answers.get(i), maxTokens);
                out[i] = lm.answerLoss(CausalBatch.of(List.of(pa[0]), List.of(pa[1]))).mean();
            }
        }
        return out;
    }
}
