package io.fedstream.aggregation.robust;

import static io.fedstream.aggregation.robust.Fixtures.only;
import static io.fedstream.aggregation.robust.Fixtures.scalars;
import static io.fedstream.aggregation.robust.Fixtures.u;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class TrimmedMeanTest {

    @Test
    void dropsTheBLargestAndSmallestOfEachCoordinate() {
        // k = 5, b = floor(0.2 * 5) = 1: {1,2,3,4,100} -> mean {2,3,4} = 3
        assertThat(only(new TrimmedMean(0.2).aggregate(scalars(100, 3, 1, 4, 2)))).isEqualTo(3.0);
    }

    @Test
    void worksPerCoordinateAcrossTensors() {
        List<WeightedDelta> updates =
                List.of(
                        WeightedDelta.ofFloats("a", new float[][] {{1, -50}, {0}}, 1),
                        WeightedDelta.ofFloats("b", new float[][] {{2, 6}, {8}}, 1),
                        WeightedDelta.ofFloats("c", new float[][] {{9, 4}, {1}}, 1),
                        WeightedDelta.ofFloats("d", new float[][] {{4, 5}, {1}}, 1));

        // k = 4, b = 1: {1,2,4,9} -> 3; {-50,4,5,6} -> 4.5; {0,1,1,8} -> 1
        double[][] out = new TrimmedMean(0.25).aggregate(updates);

        assertThat(out[0]).containsExactly(3.0, 4.5);
        assertThat(out[1]).containsExactly(1.0);
    }

    @Test
    void evenCountWithNothingTrimmedIsTheUnweightedMean() {
        // k = 4, b = floor(0.2 * 4) = 0: (1 + 2 + 4 + 10) / 4, weights ignored
        List<WeightedDelta> updates =
                List.of(u("a", 1, 1), u("b", 9, 2), u("c", 1, 4), u("d", 1, 10));

        assertThat(only(new TrimmedMean(0.2).aggregate(updates))).isEqualTo(4.25);
        assertThat(only(new TrimmedMean(0).aggregate(updates))).isEqualTo(4.25);
    }

    @Test
    void tiesAtTheCutAreHarmless() {
        // k = 5, b = 1: sorted {1,3,3,3,9} -> mean {3,3,3}
        assertThat(only(new TrimmedMean(0.2).aggregate(scalars(3, 9, 3, 1, 3)))).isEqualTo(3.0);
        // k = 6, b = 2: sorted {0,0,7,7,7,7} -> mean {7,7}
        assertThat(only(new TrimmedMean(0.4).aggregate(scalars(7, 0, 7, 0, 7, 7)))).isEqualTo(7.0);
    }

    @Test
    void largestTrimLeavesTheMedianForOddAndTheMiddlePairForEvenCounts() {
        // beta just below 0.5: k = 5 -> b = 2, k = 6 -> b = 2
        assertThat(only(new TrimmedMean(0.49).aggregate(scalars(5, 1, 2, 8, 3)))).isEqualTo(3.0);
        assertThat(only(new TrimmedMean(0.49).aggregate(scalars(5, 1, 2, 8, 3, 4)))).isEqualTo(3.5);
    }

    @Test
    void trimCountIsTheFloorOfBetaTimesKWithoutBinaryRoundingSurprises() {
        assertThat(new TrimmedMean(0.29).trimmed(100))
                .isEqualTo(29); // 0.29*100 = 28.999999999999996
        assertThat(new TrimmedMean(0.2).trimmed(9)).isEqualTo(1);
        assertThat(new TrimmedMean(0.1).trimmed(9)).isZero();
        assertThat(new TrimmedMean(0.3).trimmed(10)).isEqualTo(3);
    }

    @Test
    void validatesBeta() {
        assertThatThrownBy(() -> new TrimmedMean(0.5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("trimmed-mean needs 0 <= beta < 0.5, not 0.5");
        assertThatThrownBy(() -> new TrimmedMean(-0.1))
                .hasMessage("trimmed-mean needs 0 <= beta < 0.5, not -0.1");
        assertThatThrownBy(() -> new TrimmedMean(Double.NaN))
                .hasMessage("trimmed-mean needs 0 <= beta < 0.5, not NaN");
    }
}
