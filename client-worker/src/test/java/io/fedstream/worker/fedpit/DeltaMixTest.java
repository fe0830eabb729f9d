package io.fedstream.worker.fedpit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeltaMixTest {
    final Map<String, float[]> local = map(new float[] {1, 2}, new float[] {3});
    final Map<String, float[]> synthetic = map(new float[] {-1, 0}, new float[] {5});

    static Map<String, float[]> map(float[] a, float[] b) {
        Map<String, float[]> m = new LinkedHashMap<>();
        m.put("a", a);
        m.put("b", b);
        return m;
    }

    @Test
    void mixesLinearly() {
        Map<String, float[]> m = DeltaMix.mix(0.25, local, synthetic);

        assertThat(m.get("a")).containsExactly(-0.5f, 0.5f);
        assertThat(m.get("b")).containsExactly(4.5f);
    }

    @Test
    void theEndsReturnOneDeltaExactlyAndIgnoreTheOther() {
        assertThat(DeltaMix.mix(1, local, null).get("a")).containsExactly(1f, 2f);
        assertThat(DeltaMix.mix(0, null, synthetic).get("b")).containsExactly(5f);
        assertThat(DeltaMix.mix(1, local, null).get("a")).isNotSameAs(local.get("a"));
    }

    @Test
    void refusesBetaOutsideTheUnitIntervalAndMismatchedTensors() {
        assertThatThrownBy(() -> DeltaMix.mix(1.5, local, synthetic))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DeltaMix.mix(0.5, local, Map.of("a", new float[] {1, 2})))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
