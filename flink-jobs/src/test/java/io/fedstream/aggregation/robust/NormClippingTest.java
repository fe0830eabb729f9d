package io.fedstream.aggregation.robust;

import static io.fedstream.aggregation.robust.Fixtures.u;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class NormClippingTest {

    @Test
    void scalesALargeUpdateExactlyToMaxNorm() {
        // ‖(6, 8)‖ = 10 > 5: scaled by 0.5
        assertThat(new NormClipping(5).aggregate(List.of(u("a", 2, 6, 8)))[0])
                .containsExactly(3.0, 4.0);
    }

    @Test
    void theNormIsTakenOverAllTensorsTogether() {
        WeightedDelta twoTensors = WeightedDelta.ofFloats("a", new float[][] {{3}, {4}}, 1);

        double[][] out = new NormClipping(1).aggregate(List.of(twoTensors));

        assertThat(out[0][0]).isCloseTo(0.6, within(1e-15));
        assertThat(out[1][0]).isCloseTo(0.8, within(1e-15));
        assertThat(Math.hypot(out[0][0], out[1][0])).isCloseTo(1.0, within(1e-15));
    }

    @Test
    void leavesUpdatesWithinTheBoundUntouched() {
        NormClipping clip = new NormClipping(5);

        assertThat(clip.clipFactor(u("small", 1, 0.3f, 0.4f))).isEqualTo(1.0);
        assertThat(clip.clipFactor(u("exact", 1, 3, 4))).isEqualTo(1.0);
        assertThat(clip.clipFactor(u("zero", 1, 0, 0))).isEqualTo(1.0);
        assertThat(clip.aggregate(List.of(u("small", 1, 0.25f, -0.5f)))[0])
                .containsExactly(0.25, -0.5);
    }

    @Test
    void theWeightedMeanUsesTheOriginalWeights() {
        // (6,8) clipped to (3,4), weight 1; (1,0) untouched, weight 3:
        // ((3,4) + 3·(1,0)) / (1 + 3) = (1.5, 1)
        List<WeightedDelta> updates = List.of(u("big", 1, 6, 8), u("small", 3, 1, 0));

        assertThat(new NormClipping(5).aggregate(updates)[0]).containsExactly(1.5, 1.0);
    }

    @Test
    void theStreamingFormGivesTheSameMean() {
        NormClipping clip = new NormClipping(5);
        double[][] sums = {new double[2]};
        double total = clip.accumulate(sums, u("big", 1, 6, 8));
        total += clip.accumulate(sums, u("small", 3, 1, 0));

        assertThat(total).isEqualTo(4.0);
        assertThat(new double[] {sums[0][0] / total, sums[0][1] / total}).containsExactly(1.5, 1.0);
        assertThat(clip.needsAllUpdates()).isFalse();
    }

    @Test
    void validatesMaxNorm() {
        assertThatThrownBy(() -> new NormClipping(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("norm-clipping needs maxNorm > 0 and finite, not 0.0");
        assertThatThrownBy(() -> new NormClipping(Double.POSITIVE_INFINITY))
                .hasMessage("norm-clipping needs maxNorm > 0 and finite, not Infinity");
    }
}
