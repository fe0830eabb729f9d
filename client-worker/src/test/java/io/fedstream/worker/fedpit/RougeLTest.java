package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class RougeLTest {

    @Test
    void tokensAreLowerCasedRunsOfLettersAndDigits() {
        assertThat(RougeL.tokens("What is (are) Type-2 diabetes?"))
                .containsExactly("what", "is", "are", "type", "2", "diabetes");
    }

    @Test
    void lcsOfAKnownPair() {
        // "police killed the gunman" vs "police kill the gunman": LCS = police the gunman
        assertThat(
                        RougeL.lcs(
                                RougeL.tokens("police killed the gunman"),
                                RougeL.tokens("police kill the gunman")))
                .isEqualTo(3);
    }

    @Test
    void fMeasureMatchesTheHandComputedValue() {
        // candidate 4 tokens, reference 6 tokens, LCS 3: P = 3/4, R = 1/2, F = 0.6
        RougeL.Score s = RougeL.score("a b c d", "a x b y c z");

        assertThat(s.precision()).isEqualTo(0.75);
        assertThat(s.recall()).isEqualTo(0.5);
        assertThat(s.f()).isCloseTo(0.6, within(1e-12));
    }

    @Test
    void identicalTextsScoreOneAndDisjointOrEmptyScoreZero() {
        assertThat(RougeL.f("What causes flu?", "what causes FLU")).isEqualTo(1.0);
        assertThat(RougeL.f("alpha beta", "gamma delta")).isZero();
        assertThat(RougeL.f("", "gamma delta")).isZero();
    }

    @Test
    void orderMattersUnlikeBagOfWords() {
        assertThat(RougeL.f("a b c d", "d c b a")).isCloseTo(0.25, within(1e-12));
    }

    @Test
    void maxFPicksTheClosestReference() {
        assertThat(RougeL.maxF("a b c", List.of("x y z", "a b z", "a b c"))).isEqualTo(1.0);
        assertThat(RougeL.maxF("a b c", List.of())).isZero();
    }
}
