package io.fedstream.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.mlp.Classification;
import io.fedstream.worker.mlp.LoraMlp;
import io.fedstream.worker.mlp.LoraMlpConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdaptersTest {
    private final FederationSpec spec = LoraMlp.spec(LoraMlpConfig.defaults(), "t", 1);

    @Test
    void deltaThenApplyRestoresTheTrainedValues() {
        Map<String, float[]> base = spec.initialValues();
        Map<String, float[]> trained =
                LoraMlp.spec(LoraMlpConfig.defaults(), "t", 2).initialValues();
        Map<String, float[]> back = Adapters.apply(base, Adapters.delta(trained, base));
        for (String name : base.keySet()) {
            float[] t = trained.get(name);
            float[] r = back.get(name);
            for (int i = 0; i < t.length; i++) {
                assertThat(r[i])
                        .isCloseTo(
                                t[i],
                                within(2 * Math.ulp(Math.abs(t[i]) + Math.abs(base.get(name)[i]))));
            }
        }
    }

    @Test
    void layoutChecksNamesAndSizes() {
        Map<String, float[]> ok = spec.initialValues();
        Adapters.requireLayout(ok, spec);

        Map<String, float[]> missing = new LinkedHashMap<>(ok);
        missing.remove("l1.lora_B");
        assertThatThrownBy(() -> Adapters.requireLayout(missing, spec))
                .isInstanceOf(IllegalArgumentException.class);

        Map<String, float[]> wrongSize = new LinkedHashMap<>(ok);
        wrongSize.put("l1.lora_B", new float[3]);
        assertThatThrownBy(() -> Adapters.requireLayout(wrongSize, spec))
                .hasMessageContaining("l1.lora_B");

        Map<String, float[]> renamed = new LinkedHashMap<>(missing);
        renamed.put("l1.lora_C", ok.get("l1.lora_B"));
        assertThatThrownBy(() -> Adapters.requireLayout(renamed, spec))
                .hasMessageContaining("l1.lora_B");
    }

    @Test
    void crossEntropyAndAccuracyMatchHandComputedValues() {
        float[] logits = {2, 0, 0, 0, 1, 0};
        int[] labels = {0, 2};
        double expected =
                -Math.log(Math.exp(2) / (Math.exp(2) + 2)) - Math.log(1 / (2 + Math.exp(1)));
        assertThat(Classification.crossEntropySum(logits, labels, 3))
                .isCloseTo(expected, within(1e-12));
        assertThat(Classification.correct(logits, labels, 3)).isEqualTo(1);
    }
}
