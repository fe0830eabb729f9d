package io.fedstream.lab.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SiteDelaysTest {

    @Test
    void theSlowestSitesMedianIsSpreadTimesTheFastestsAroundTheMedian() {
        SiteDelays d = new SiteDelays(9, Duration.ofSeconds(2), 10, 0.5, 1);
        double[] m = new double[9];
        for (int i = 0; i < 9; i++) {
            m[i] = d.medianMillis(i);
        }
        Arrays.sort(m);
        assertThat(m[8] / m[0]).isCloseTo(10, within(1e-9));
        // geometric spacing: the middle site has the median, the ends median / sqrt(10) and x
        assertThat(m[4]).isCloseTo(2000, within(1e-6));
        assertThat(m[0]).isCloseTo(2000 / Math.sqrt(10), within(1e-6));
    }

    @Test
    void roundDelaysAreLognormalAroundTheSiteMedian() {
        SiteDelays d = new SiteDelays(3, Duration.ofSeconds(1), 4, 0.5, 7);
        int n = 4000;
        double[] logs = new double[n];
        for (int r = 0; r < n; r++) {
            logs[r] = Math.log(d.delay(1, r).toMillis() / d.medianMillis(1));
        }
        double mean = Arrays.stream(logs).average().orElseThrow();
        double var = Arrays.stream(logs).map(x -> (x - mean) * (x - mean)).sum() / (n - 1);
        // log-delay ~ N(0, 0.5^2): mean within 4 standard errors, sd within 5%
        assertThat(mean).isCloseTo(0, within(4 * 0.5 / Math.sqrt(n)));
        assertThat(Math.sqrt(var)).isCloseTo(0.5, within(0.025));
    }

    @Test
    void delaysFollowTheSeedAndDifferAcrossSeeds() {
        SiteDelays a = new SiteDelays(9, Duration.ofSeconds(2), 10, 0.5, 1);
        SiteDelays b = new SiteDelays(9, Duration.ofSeconds(2), 10, 0.5, 1);
        SiteDelays c = new SiteDelays(9, Duration.ofSeconds(2), 10, 0.5, 2);
        assertThat(a.delay(3, 5)).isEqualTo(b.delay(3, 5));
        boolean differs = false;
        for (int i = 0; i < 9; i++) {
            differs |=
                    a.medianMillis(i) != c.medianMillis(i) || !a.delay(i, 0).equals(c.delay(i, 0));
        }
        assertThat(differs).isTrue();
    }

    @Test
    void refusesANonsensicalModel() {
        assertThatThrownBy(() -> new SiteDelays(0, Duration.ofSeconds(1), 10, 0.5, 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SiteDelays(3, Duration.ofSeconds(1), 0.5, 0.5, 1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
