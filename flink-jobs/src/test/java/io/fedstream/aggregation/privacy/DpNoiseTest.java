package io.fedstream.aggregation.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DpNoiseTest {
    static final byte[] SECRET =
            "a job secret of 32 bytes, for tests".getBytes(StandardCharsets.UTF_8);

    @Test
    void theSameSecretFederationVersionAndChunkGiveTheSameBits() {
        double[] a = DpNoise.normals(SECRET, "demo", 7, 2, 1001);
        double[] b = DpNoise.normals(SECRET.clone(), "demo", 7, 2, 1001);
        assertThat(a).containsExactly(b);
        // a prefix of the stream is the stream's prefix
        assertThat(DpNoise.normals(SECRET, "demo", 7, 2, 10))
                .containsExactly(java.util.Arrays.copyOf(a, 10));
    }

    @Test
    void anyOtherSecretFederationVersionOrChunkGivesOtherNoise() {
        double[] base = DpNoise.normals(SECRET, "demo", 7, 2, 64);
        byte[] other = SECRET.clone();
        other[0] ^= 1;
        assertThat(DpNoise.normals(other, "demo", 7, 2, 64)).isNotEqualTo(base);
        assertThat(DpNoise.normals(SECRET, "demo2", 7, 2, 64)).isNotEqualTo(base);
        assertThat(DpNoise.normals(SECRET, "demo", 8, 2, 64)).isNotEqualTo(base);
        assertThat(DpNoise.normals(SECRET, "demo", 7, 3, 64)).isNotEqualTo(base);
    }

    @Test
    void theNormalsHaveMeanZeroVarianceOneAndGaussianTails() {
        int n = 200_000;
        double[] z = DpNoise.normals(SECRET, "demo", 1, 0, n);
        double sum = 0;
        double sq = 0;
        int beyond2 = 0;
        for (double x : z) {
            sum += x;
            sq += x * x;
            if (Math.abs(x) > 2) {
                beyond2++;
            }
        }
        double mean = sum / n;
        double var = sq / n - mean * mean;
        // 5 standard errors: mean ~ N(0, 1/n), variance ~ N(1, 2/n)
        assertThat(mean).isCloseTo(0, within(5 / Math.sqrt(n)));
        assertThat(var).isCloseTo(1, within(5 * Math.sqrt(2.0 / n)));
        // P(|Z| > 2) = 0.0455003 (standard normal table)
        double p = 0.0455003;
        assertThat(beyond2 / (double) n).isCloseTo(p, within(5 * Math.sqrt(p * (1 - p) / n)));
    }

    @Test
    void addToScalesByTheStandardDeviation() {
        double[] sum = {1, 2, 3};
        DpNoise.addTo(sum, SECRET, "demo", 1, 0, 0.5);
        double[] z = DpNoise.normals(SECRET, "demo", 1, 0, 3);
        for (int i = 0; i < 3; i++) {
            assertThat(sum[i]).isEqualTo((i + 1) + 0.5 * z[i]);
        }
    }

    @Test
    void refusesAShortSecret() {
        assertThatThrownBy(() -> DpNoise.normals(new byte[8], "demo", 1, 0, 3))
                .hasMessageContaining("16 bytes");
    }
}
