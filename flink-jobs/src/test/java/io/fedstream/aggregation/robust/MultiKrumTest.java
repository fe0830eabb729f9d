package io.fedstream.aggregation.robust;

import static io.fedstream.aggregation.robust.Fixtures.u;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class MultiKrumTest {
    // five honest updates around (2, 1) and two planted outliers
    private static final List<WeightedDelta> UPDATES =
            List.of(
                    u("h1", 1, 1, 1),
                    u("h2", 1, 2, 0),
                    u("h3", 1, 3, 1),
                    u("h4", 1, 2, 2),
                    u("h5", 4, 2, 1),
                    u("bad1", 1, 100, -100),
                    u("bad2", 50, -80, 90));

    @Test
    void excludesPlantedOutliersAndAveragesTheHonestWhenMIsTheHonestCount() {
        MultiKrum krum = new MultiKrum(2, 5);

        double[][] out = krum.aggregate(UPDATES);

        // weights 1,1,1,1,4: x = (1+2+3+2+8)/8 = 2, y = (1+0+1+2+4)/8 = 1
        assertThat(out[0]).containsExactly(2.0, 1.0);
        assertThat(krum.select(UPDATES).selected()).containsExactly("h1", "h2", "h3", "h4", "h5");
    }

    @Test
    void scoresAreSumsOfSquaredDistancesToTheNearestNeighbours() {
        MultiKrum.Selection s = new MultiKrum(2, 1).select(UPDATES);

        // k = 7, f = 2: 3 nearest neighbours. ids in id order: bad1, bad2, h1..h5
        assertThat(s.ids()).containsExactly("bad1", "bad2", "h1", "h2", "h3", "h4", "h5");
        // h5 = (2,1) is at squared distance 1 from h1, h2, h3 and h4: score 3
        assertThat(s.scores()[6]).isEqualTo(3.0);
        // h1 = (1,1): h5 at 1, h2 at 2, h4 at 2 (h3 at 4): score 5
        assertThat(s.scores()[2]).isEqualTo(5.0);
        // m = 1 is Krum: the single most central update
        assertThat(s.selected()).containsExactly("h5");
        assertThat(new MultiKrum(2, 1).aggregate(UPDATES)[0]).containsExactly(2.0, 1.0);
    }

    @Test
    void scoreTiesGoToTheSmallerId() {
        // symmetric: a and c have equal scores, b is the centre
        List<WeightedDelta> line =
                List.of(u("c", 1, 1), u("a", 1, -1), u("b", 1, 0), u("d", 1, 50), u("e", 1, 60));

        // k = 5, f = 1: 2 nearest. b: 1+1 = 2; a: 1+4 = 5; c: 1+4 = 5; d: 100+2401...
        assertThat(new MultiKrum(1, 2).select(line).selected()).containsExactly("a", "b");
    }

    @Test
    void mEqualToKIsPlainFedAvg() {
        double[][] all = new MultiKrum(2, 7).aggregate(UPDATES);

        assertThat(Fixtures.bits(all))
                .isDeepEqualTo(Fixtures.bits(new WeightedMean().aggregate(UPDATES)));
    }

    @Test
    void needsMoreThanTwoFPlusTwoUpdates() {
        List<WeightedDelta> six = UPDATES.subList(0, 6);

        assertThatThrownBy(() -> new MultiKrum(2, 3).aggregate(six))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("multi-krum with f=2 needs more than 2f+2=6 updates, got 6");
        assertThatThrownBy(() -> new MultiKrum(0, 1).aggregate(UPDATES.subList(0, 2)))
                .hasMessage("multi-krum with f=0 needs more than 2f+2=2 updates, got 2");
        assertThat(new MultiKrum(0, 1).aggregate(UPDATES.subList(0, 3))).isNotNull();
    }

    @Test
    void validatesFAndM() {
        assertThatThrownBy(() -> new MultiKrum(-1, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("multi-krum needs f >= 0, not -1");
        assertThatThrownBy(() -> new MultiKrum(1, 0)).hasMessage("multi-krum needs m >= 1, not 0");
        assertThatThrownBy(() -> new MultiKrum(2, 8).aggregate(UPDATES))
                .hasMessage("multi-krum with m=8 needs at least m updates, got 7");
    }
}
