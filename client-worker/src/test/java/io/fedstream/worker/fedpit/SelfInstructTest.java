package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.worker.data.InstructionExample;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The round's bookkeeping with a scripted generator and scorer (unit test of one class). */
class SelfInstructTest {

    /** Returns scripted completions in order; instruction and answer prompts alternate. */
    static final class Scripted implements TextGenerator {
        final Deque<String> completions;

        Scripted(String... completions) {
            this.completions = new ArrayDeque<>(List.of(completions));
        }

        @Override
        public String complete(String prompt, int maxNewTokens, List<String> stops) {
            return completions.removeFirst();
        }

        @Override
        public String describe() {
            return "scripted";
        }
    }

    @Test
    void filtersScoresAndKeepsTheBestByIfs() {
        List<InstructionExample> local = SelfInstructPromptsTest.local(10);
        Scripted gen =
                new Scripted(
                        "question 3 please ?\n### Response", // near copy of a local question
                        "What is good for bones ?",
                        "Sorry, I cannot answer medical questions at all.", // refusal
                        "What causes kidney stones ?",
                        "Kidney stones form from minerals in the urine.",
                        "What helps with sleep problems ?",
                        "Regular hours and less caffeine help most people sleep.",
                        "Why ?"); // too short
        // the scorer says the answer about kidney stones follows its instruction better
        AnswerScorer scorer =
                (prompts, answers) ->
                        answers.stream()
                                .mapToDouble(
                                        a ->
                                                prompts.get(0).isEmpty()
                                                        ? 4.0
                                                        : a.startsWith("Kidney") ? 1.0 : 3.0)
                                .toArray();
        SelfInstruct si = new SelfInstruct(SelfInstruct.Config.defaults().withCandidates(5, 1));

        SelfInstruct.Round round = si.generate(local, gen, scorer, new SplittableRandom(3), "s-");

        assertThat(round.generated()).isEqualTo(5);
        assertThat(round.scored()).isEqualTo(2);
        assertThat(round.kept())
                .extracting(InstructionExample::instruction)
                .containsExactly("What causes kidney stones ?");
        assertThat(round.meanKeptIfs()).isEqualTo(0.25);
        assertThat(round.filtered())
                .containsEntry(SyntheticFilter.Reason.NEAR_COPY, 1)
                .containsEntry(SyntheticFilter.Reason.REFUSAL, 1)
                .containsEntry(SyntheticFilter.Reason.TOO_SHORT, 1);
        assertThat(round.metrics())
                .containsEntry(SelfInstruct.GENERATED, 5.0)
                .containsEntry(SelfInstruct.KEPT, 1.0)
                .containsEntry("filtered_near_copy", 1.0)
                .containsEntry("filtered_duplicate", 0.0)
                .containsKey(SelfInstruct.GENERATION_MILLIS);
        assertThat(gen.completions).isEmpty();
    }
}
