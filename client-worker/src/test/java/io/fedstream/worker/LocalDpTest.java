package io.fedstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.fedstream.schemas.PrivacySpec;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LocalDpTest {

    private static Map<String, float[]> delta(float value, int n) {
        Map<String, float[]> d = new LinkedHashMap<>();
        float[] a = new float[n];
        java.util.Arrays.fill(a, value);
        d.put("a", a);
        d.put("b", new float[] {value});
        return d;
    }

    @Test
    void aLargeUpdateIsClippedToTheNormBeforeNoise() {
        // a tiny noise multiplier shows the clipped values
        Map<String, float[]> out = new LocalDp(1.0, 1e-9).apply(delta(3f, 8), new Random(1));
        double sq = 0;
        for (float[] t : out.values()) {
            for (float x : t) {
                sq += (double) x * x;
            }
        }
        assertThat(Math.sqrt(sq)).isCloseTo(1.0, within(1e-5));
        assertThat(out.keySet()).containsExactly("a", "b");
    }

    @Test
    void aSmallUpdateKeepsItsValuesAndGetsNoiseOfStdSigmaTimesC() {
        int n = 100_000;
        Map<String, float[]> in = delta(0f, n);
        Map<String, float[]> out = new LocalDp(0.5, 2.0).apply(in, new Random(7));
        double sq = 0;
        for (float x : out.get("a")) {
            sq += (double) x * x;
        }
        // std 2 * 0.5 = 1; the sample variance within 5 standard errors (sqrt(2/n))
        assertThat(sq / n).isCloseTo(1.0, within(5 * Math.sqrt(2.0 / n)));
        assertThat(in.get("a")[0]).isZero(); // the input is not changed
    }

    @Test
    void theUpdateDeclaresItsLocalDp() {
        Map<String, Double> metrics = new HashMap<>();
        new LocalDp(0.5, 2.0).declare(metrics);
        assertThat(metrics)
                .containsEntry(PrivacySpec.LOCAL_DP_CLIP_METRIC, 0.5)
                .containsEntry(PrivacySpec.LOCAL_DP_NOISE_METRIC, 2.0);
    }

    @Test
    void refusesANonPositiveClipOrNoise() {
        assertThatThrownBy(() -> new LocalDp(0, 1)).hasMessageContaining("clip norm");
        assertThatThrownBy(() -> new LocalDp(1, 0)).hasMessageContaining("noise multiplier");
    }
}
