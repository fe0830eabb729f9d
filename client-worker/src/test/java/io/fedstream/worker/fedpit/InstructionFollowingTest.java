package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.worker.fedpit.InstructionFollowing.Scored;
import java.util.List;
import org.junit.jupiter.api.Test;

class InstructionFollowingTest {

    @Test
    void ifsIsTheRatioOfConditionedToUnconditionedLoss() {
        assertThat(new Scored<>("a", 1.0, 4.0).ifs()).isEqualTo(0.25);
        assertThat(new Scored<>("a", 1.0, 0.0).ifs()).isNaN();
        assertThat(new Scored<>("a", Double.NaN, 1.0).ifs()).isNaN();
    }

    @Test
    void keepsTheKLowestScoresBestFirstAndInvalidOnesLast() {
        List<Scored<String>> c =
                List.of(
                        new Scored<>("unrelated", 3.0, 3.0),
                        new Scored<>("broken", Double.NaN, 2.0),
                        new Scored<>("good", 1.0, 3.0),
                        new Scored<>("ok", 2.0, 3.0));

        assertThat(InstructionFollowing.best(c, 2))
                .extracting(Scored::item)
                .containsExactly("good", "ok");
        assertThat(InstructionFollowing.best(c, 10))
                .extracting(Scored::item)
                .containsExactly("good", "ok", "unrelated", "broken");
        assertThat(InstructionFollowing.best(c, 0)).isEmpty();
    }
}
