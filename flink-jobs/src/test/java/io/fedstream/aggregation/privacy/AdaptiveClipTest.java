package io.fedstream.aggregation.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AdaptiveClip} against Algorithm 1 of Andrew et al. 2021 ("Differentially Private Learning
 * with Adaptive Clipping", NeurIPS 2021) as {@code adaptive_clip.py} (test resources, standard
 * library only, written from the paper) computes it: the committed fixture {@code
 * adaptive-clip.txt} is that script's output, so the comparison always runs, and where {@code
 * /usr/bin/python3} exists the script is also run live.
 */
class AdaptiveClipTest {
    private static final String DIR = "/io/fedstream/aggregation/privacy/";

    // the script's inputs: z, m, sigma_b, gamma, eta_C, C0 and per round the norms and the draw
    private static final double Z = 1.1;
    private static final int M = 5;
    private static final AdaptiveClip RULE = new AdaptiveClip(0.5, 0.2, 1.0, 0.1);
    private static final double[][] NORMS = {
        {0.05, 0.08, 0.2, 0.3, 0.12},
        {0.02, 0.5, 0.09, 0.11, 0.4},
        {0.07, 0.06, 0.05, 0.3, 0.2},
        {0.01, 0.02, 0.03, 0.04, 0.9},
        {1.0, 1.1, 1.2, 0.095, 0.2}
    };
    private static final double[] DRAWS = {0.37, -1.21, 0.05, 2.4, -0.6};

    private static Map<String, Double> parse(String text) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank()) {
                String[] kv = line.trim().split(" ");
                out.put(kv[0], Double.parseDouble(kv[1]));
            }
        }
        return out;
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = AdaptiveClipTest.class.getResourceAsStream(DIR + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void checkAgainst(Map<String, Double> reference) {
        assertThat(AdaptiveClip.sumNoiseMultiplier(Z, RULE.countNoise()))
                .isCloseTo(reference.get("z_delta"), within(1e-15));
        double clip = RULE.initialClip();
        for (int t = 0; t < NORMS.length; t++) {
            int under = 0;
            for (double n : NORMS[t]) {
                under += AdaptiveClip.under(n, clip) ? 1 : 0;
            }
            clip = RULE.next(clip, RULE.noisedFraction(under, DRAWS[t], M));
            assertThat(clip)
                    .as("round %d", t + 1)
                    .isCloseTo(reference.get("clip" + (t + 1)), within(1e-15));
        }
    }

    @Test
    void followsThePapersUpdateRuleAsTheReferenceScriptComputedIt() throws IOException {
        Map<String, Double> fixture = parse(resource("adaptive-clip.txt"));
        assertThat(fixture).hasSize(1 + NORMS.length);
        checkAgainst(fixture);
    }

    @Test
    void theReferenceScriptRunNowAgrees(@TempDir Path tmp) throws Exception {
        Path python = Path.of("/usr/bin/python3");
        assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
        Path script =
                Files.writeString(tmp.resolve("adaptive_clip.py"), resource("adaptive_clip.py"));
        Process p = new ProcessBuilder(python.toString(), script.toString()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).isZero();
        checkAgainst(parse(out));
    }

    @Test
    void workedByHand() {
        // z = 1, sigma_b = m/20 = 5 (m = 100, the paper's suggestion): z_delta = 0.99^(-1/2)
        assertThat(AdaptiveClip.sumNoiseMultiplier(1.0, 5.0))
                .isCloseTo(1 / Math.sqrt(0.99), within(1e-15));
        // C = 0.1, eta 0.2, gamma 0.5, b~ = 0.7: 0.1 * e^-0.04 = 0.0960789439152323
        assertThat(new AdaptiveClip(0.5, 0.2, 5, 0.1).next(0.1, 0.7))
                .isCloseTo(0.0960789439152323, within(1e-16));
        // b~ = gamma leaves the clip where it is
        assertThat(RULE.next(0.3, 0.5)).isEqualTo(0.3);
    }

    @Test
    void sumAndCountTogetherCostWhatOneGaussianWithZCosts() {
        // RDP of the Gaussian mechanism is alpha / (2 sigma^2) per order: the sum's (z_delta) and
        // the centred count's (2 sigma_b) add up to the single z the accountant charges
        double zDelta = AdaptiveClip.sumNoiseMultiplier(Z, RULE.countNoise());
        double[] both =
                RdpAccountant.compose(
                        RdpAccountant.round(zDelta, 1),
                        RdpAccountant.round(2 * RULE.countNoise(), 1));
        double[] one = RdpAccountant.round(Z, 1);
        for (int i = 0; i < one.length; i++) {
            assertThat(both[i]).isCloseTo(one[i], within(1e-12 * one[i]));
        }
        assertThat(zDelta).isGreaterThan(Z);
    }

    @Test
    void refusesWhatHasNoGuarantee() {
        assertThatThrownBy(() -> AdaptiveClip.sumNoiseMultiplier(1.1, 0.5))
                .hasMessageContaining("countNoise 0.5 is too small");
        assertThatThrownBy(() -> new AdaptiveClip(1.0, 0.2, 1, 0.1))
                .hasMessageContaining("targetQuantile");
        assertThatThrownBy(() -> new AdaptiveClip(0.5, 0, 1, 0.1))
                .hasMessageContaining("learningRate");
        assertThatThrownBy(() -> new AdaptiveClip(0.5, 0.2, 0, 0.1))
                .hasMessageContaining("countNoise");
        assertThatThrownBy(() -> new AdaptiveClip(0.5, 0.2, 1, -1))
                .hasMessageContaining("initialClip");
    }
}
