package io.fedstream.worker.fedpit;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.data.InstructionExample;
import io.fedstream.worker.decoder.CausalBatch;
import io.fedstream.worker.decoder.CausalLmSiteTrainer;
import io.fedstream.worker.decoder.ChatTemplate;
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
    private final ChatTemplate template;

    public DecoderScorer(LoraCausalLm lm, HuggingFaceTokenizer tokenizer, int maxTokens) {
        this(lm, tokenizer, maxTokens, null);
    }

    /**
     * A scorer whose non-empty prompts are user turns laid out in {@code template} (null: the
     * Alpaca prompt text), as the model is trained; an empty prompt still scores the answer after
     * BOS alone.
     */
    public DecoderScorer(
            LoraCausalLm lm, HuggingFaceTokenizer tokenizer, int maxTokens, ChatTemplate template) {
        this.lm = lm;
        this.tokenizer = tokenizer;
        this.maxTokens = maxTokens;
        this.template = template;
    }

    @Override
    public String promptOf(InstructionExample e) {
        return template == null ? e.prompt() : CausalLmSiteTrainer.userTurn(e);
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
                        template == null || prompts.get(i).isEmpty()
                                ? CausalBatch.encode(
                                        tokenizer,
                                        lm.config(),
                                        prompts.get(i),
                                        answers.get(i),
                                        maxTokens)
                                : template.encode(
                                        tokenizer, prompts.get(i), answers.get(i), maxTokens);
                out[i] = lm.answerLoss(CausalBatch.of(List.of(pa[0]), List.of(pa[1]))).mean();
            }
        }
        return out;
    }
}
