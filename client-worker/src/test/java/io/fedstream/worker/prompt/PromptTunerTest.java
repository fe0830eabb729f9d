package io.fedstream.worker.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The optimiser alone, against a deterministic rule-based black box. */
class PromptTunerTest {

    /** Words on a line in embedding space: each word's nearest neighbours are the adjacent ones. */
    private static final List<String> WORDS =
            List.of("apple", "banana", "cherry", "topic", "mood", "sentiment", "tone", "review");

    private static TokenSpace space() {
        float[][] v = new float[WORDS.size()][];
        for (int i = 0; i < v.length; i++) {
            double a = i * 0.2;
            v[i] = new float[] {(float) Math.cos(a), (float) Math.sin(a)};
        }
        return new TokenSpace(WORDS, v);
    }

    /**
     * Answers right when the prompt says "sentiment", and also for the first half of the texts when
     * it says "review"; otherwise always "negative" (half right).
     */
    private static final class RuleModel implements BlackBoxModel {
        final List<String> prompts = new ArrayList<>();

        @Override
        public String complete(String system, String user) {
            prompts.add(system);
            String truth = user.startsWith("good") ? "positive" : "negative";
            List<String> words = List.of(system.split(" "));
            if (words.contains("sentiment")) {
                return truth;
            }
            if (words.contains("review") && user.endsWith("1")) {
                return truth;
            }
            return "negative";
        }
    }

    private static List<PromptTuner.Example> examples() {
        List<PromptTuner.Example> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            out.add(new PromptTuner.Example("good " + i % 2, "positive"));
            out.add(new PromptTuner.Example("bad " + i % 2, "negative"));
        }
        return out;
    }

    @Test
    void editsTowardsTheWordTheModelRespondsToAndCountsEveryCall() {
        RuleModel model = new RuleModel();
        PromptTuner tuner =
                new PromptTuner(model, space(), new PromptTuner.Config(800, 4, 1, 4, 3));

        PromptTuner.Result r = tuner.tune(List.of("banana", "topic"), examples());

        assertThat(r.baseAccuracy()).isEqualTo(0.5);
        assertThat(r.accuracy()).isEqualTo(1.0);
        assertThat(r.tokens()).contains("sentiment");
        assertThat(r.apiCalls()).isEqualTo(model.prompts.size()).isLessThanOrEqualTo(800);
        assertThat(r.apiCalls()).isEqualTo(16L * (r.proposals() + 1));
        assertThat(r.accepted()).isPositive().isLessThanOrEqualTo(r.proposals());
    }

    @Test
    void neverPaysTwiceForTheSamePromptAndStaysWithinBudget() {
        RuleModel model = new RuleModel();
        PromptTuner tuner =
                new PromptTuner(model, space(), new PromptTuner.Config(100, 2, 1, 3, 9));

        PromptTuner.Result r = tuner.tune(List.of("apple"), examples());

        Set<String> distinct = new HashSet<>(model.prompts);
        assertThat(model.prompts).hasSize(16 * distinct.size()); // each scored prompt once
        assertThat(r.apiCalls()).isLessThanOrEqualTo(100);
        assertThat(r.proposals()).isEqualTo(5); // 6 scorings of 16 calls fit into 100
    }

    @Test
    void keepsTheStartPromptWhenNoEditHelps() {
        BlackBoxModel constant = (system, user) -> "negative";
        PromptTuner tuner =
                new PromptTuner(constant, space(), new PromptTuner.Config(200, 3, 1, 4, 1));

        PromptTuner.Result r = tuner.tune(List.of("mood", "tone"), examples());

        assertThat(r.tokens()).containsExactly("mood", "tone");
        assertThat(r.accuracy()).isEqualTo(r.baseAccuracy()).isEqualTo(0.5);
        assertThat(r.accepted()).isZero();
    }

    @Test
    void matchesTheFirstWordOfAReply() {
        assertThat(PromptTuner.matches(" Positive.", "positive")).isTrue();
        assertThat(PromptTuner.matches("positive sentiment", "positive")).isTrue();
        assertThat(PromptTuner.matches("not positive", "positive")).isFalse();
        assertThatThrownBy(
                        () ->
                                new PromptTuner(
                                                (s, u) -> "x",
                                                space(),
                                                new PromptTuner.Config(10, 1, 1, 2, 0))
                                        .tune(List.of("unknownword"), examples()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nearestNeighboursFollowCosineSimilarity() {
        assertThat(space().nearest("mood", 2)).containsExactlyInAnyOrder("topic", "sentiment");
        assertThat(space().nearest("apple", 1)).containsExactly("banana");
        assertThat(space().words("The Sentiment, of this REVIEW!"))
                .containsExactly("sentiment", "review");
    }
}
