package io.fedstream.worker.fedpit;

import io.fedstream.worker.data.InstructionExample;
import java.util.List;

/**
 * Mean token negative log-likelihood of answers under a model (for {@link InstructionFollowing}).
 */
public interface AnswerScorer {

    /**
     * For every pair, the mean NLL per token of {@code answers[i]} after {@code prompts[i]} (an
     * empty prompt: the answer alone).
     */
    double[] meanNll(List<String> prompts, List<String> answers);

    /** The prompt of {@code e} as {@link #meanNll} takes it: the Alpaca prompt by default. */
    default String promptOf(InstructionExample e) {
        return e.prompt();
    }
}
