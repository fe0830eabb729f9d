package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.worker.fedpit.SyntheticFilter.Reason;
import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticFilterTest {
    final SyntheticFilter filter = new SyntheticFilter(SyntheticFilter.Config.defaults());
    final List<String> localQuestions =
            List.of("What are the symptoms of Paget disease of bone ?", "How to prevent gout ?");
    final List<String> localAnswers =
            List.of("Paget disease of bone causes pain in the bones and joints of older adults.");

    @Test
    void refusalsAreDropped() {
        assertThat(
                        filter.checkAnswer(
                                "As an AI language model, I cannot give advice.", localAnswers))
                .contains(Reason.REFUSAL);
        assertThat(filter.checkAnswer("Sorry, I do not know anything about that.", localAnswers))
                .contains(Reason.REFUSAL);
        assertThat(
                        filter.checkAnswer(
                                "I\u2019m sorry but that is not something I can say", localAnswers))
                .contains(Reason.REFUSAL);
    }

    @Test
    void tooShortAndEmptyOutputsAreDropped() {
        assertThat(filter.checkAnswer("Yes it is.", localAnswers)).contains(Reason.TOO_SHORT);
        assertThat(filter.checkAnswer(" ... ", localAnswers)).contains(Reason.EMPTY);
        assertThat(filter.checkInstruction("Gout?", localQuestions, List.of()))
                .contains(Reason.TOO_SHORT);
        assertThat(filter.checkInstruction("", localQuestions, List.of())).contains(Reason.EMPTY);
    }

    @Test
    void nearCopiesOfPrivateExamplesAreDropped() {
        // 9 of 10 tokens of the private question: ROUGE-L about 0.95
        assertThat(
                        filter.checkInstruction(
                                "What are the symptoms of Paget disease of the bone ?",
                                localQuestions,
                                List.of()))
                .contains(Reason.NEAR_COPY);
        assertThat(
                        filter.checkAnswer(
                                "Paget disease of bone causes pain in the bones and joints of"
                                        + " adults.",
                                localAnswers))
                .contains(Reason.NEAR_COPY);
    }

    @Test
    void repeatsOfKeptInstructionsAreDuplicates() {
        assertThat(
                        filter.checkInstruction(
                                "What is the outlook for kidney stones ?",
                                localQuestions,
                                List.of("What is the outlook for kidney stones")))
                .contains(Reason.DUPLICATE);
    }

    @Test
    void aNewRelatedExampleIsKept() {
        assertThat(
                        filter.checkInstruction(
                                "What are the treatments for kidney stones ?",
                                localQuestions,
                                List.of("What causes asthma ?")))
                .isEmpty();
        assertThat(
                        filter.checkAnswer(
                                "Kidney stones are treated with fluids, pain relief and sometimes"
                                        + " surgery.",
                                localAnswers))
                .isEmpty();
    }

    @Test
    void theThresholdIsStrictlyAbove() {
        SyntheticFilter half =
                new SyntheticFilter(new SyntheticFilter.Config(1, 1, 0.5, List.of("sorry")));
        // F = 0.5 exactly: kept; just above: dropped
        assertThat(half.checkAnswer("a b x y", List.of("a b c d"))).isEmpty();
        assertThat(half.checkAnswer("a b c x", List.of("a b c d"))).contains(Reason.NEAR_COPY);
    }
}
