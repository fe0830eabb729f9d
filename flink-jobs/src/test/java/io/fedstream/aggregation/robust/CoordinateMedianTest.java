package io.fedstream.aggregation.robust;

import static io.fedstream.aggregation.robust.Fixtures.only;
import static io.fedstream.aggregation.robust.Fixtures.scalars;
import static io.fedstream.aggregation.robust.Fixtures.u;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fedstream.aggregation.LittleEndianFloats;
import io.fedstream.aggregation.LittleEndianFloats.Kind;
import java.util.List;
import org.junit.jupiter.api.Test;

class CoordinateMedianTest {
    private final CoordinateMedian median = new CoordinateMedian();

    @Test
    void oddCountTakesTheMiddleValueOfEachCoordinate() {
        List<WeightedDelta> updates =
                List.of(
                        WeightedDelta.ofFloats("a", new float[][] {{1, 5}, {-1}}, 1),
                        WeightedDelta.ofFloats("b", new float[][] {{3, 2}, {-7}}, 1),
                        WeightedDelta.ofFloats("c", new float[][] {{2, 9}, {4}}, 1));

        double[][] out = median.aggregate(updates);

        // coordinate 0: {1,3,2} -> 2; coordinate 1: {5,2,9} -> 5; tensor 2: {-1,-7,4} -> -1
        assertThat(out[0]).containsExactly(2.0, 5.0);
        assertThat(out[1]).containsExactly(-1.0);
    }

    @Test
    void evenCountAveragesTheTwoMiddleValues() {
        // sorted {1, 2, 4, 10}: (2 + 4) / 2
        assertThat(only(median.aggregate(scalars(10, 1, 4, 2)))).isEqualTo(3.0);
        // sorted {0.5, 0.75}: exact in float64
        assertThat(only(median.aggregate(scalars(0.75f, 0.5f)))).isEqualTo(0.625);
    }

    @Test
    void tiesAreHarmless() {
        // sorted {1, 2, 2, 7}: (2 + 2) / 2
        assertThat(only(median.aggregate(scalars(2, 7, 2, 1)))).isEqualTo(2.0);
        assertThat(only(median.aggregate(scalars(5, 5, 5)))).isEqualTo(5.0);
        // sorted {3, 3, 3, 9, 9}
        assertThat(only(median.aggregate(scalars(9, 3, 9, 3, 3)))).isEqualTo(3.0);
    }

    @Test
    void ignoresOutliersAndWeights() {
        List<WeightedDelta> updates =
                List.of(u("a", 1, 1), u("b", 1, 2), u("c", 1e6, 1e30f), u("d", 1, 3));

        // unweighted: sorted {1, 2, 3, 1e30} -> (2 + 3) / 2, the huge weight of c does not count
        assertThat(only(median.aggregate(updates))).isEqualTo(2.5);
    }

    @Test
    void aSingleUpdateIsItsOwnMedian() {
        assertThat(median.aggregate(List.of(u("a", 3, 1.5f, -2)))[0]).containsExactly(1.5, -2.0);
    }

    @Test
    void readsBfloat16AndFloat32Alike() {
        // bfloat16 of 1.5 is 0x3FC0, of -4 is 0xC080 (little-endian bytes)
        WeightedDelta bf =
                new WeightedDelta(
                        "bf",
                        new byte[][] {{(byte) 0xC0, 0x3F, (byte) 0x80, (byte) 0xC0}},
                        new Kind[] {Kind.BFLOAT16},
                        1);
        WeightedDelta f1 =
                new WeightedDelta(
                        "f1",
                        new byte[][] {LittleEndianFloats.fromFloats(new float[] {0, 0})},
                        new Kind[] {Kind.FLOAT32},
                        1);

        assertThat(median.aggregate(List.of(bf, f1, u("f2", 1, 2, -8)))[0])
                .containsExactly(1.5, -4.0);
    }

    @Test
    void rejectsUpdatesOfDifferentShapes() {
        assertThatThrownBy(() -> median.aggregate(List.of(u("a", 1, 1, 2), u("b", 1, 3))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("update b: tensor 0 has 1 elements, expected 2");
    }
}
