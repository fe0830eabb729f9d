package io.fedstream.worker.mlp;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.Adapters;
import io.fedstream.worker.data.Sampling;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LoraMlpTest {
    private final LoraMlpConfig config = LoraMlpConfig.defaults();

    @Test
    void theSpecListsEveryAdapterTensorWithStandardLoraInit() {
        FederationSpec spec = LoraMlp.spec(config, "demo", 42);
        assertThat(spec.id()).isEqualTo("demo");
        assertThat(spec.tensors())
                .extracting(TensorSpec::name)
                .containsExactly(
                        "l0.lora_A",
                        "l0.lora_B",
                        "l1.lora_A",
                        "l1.lora_B",
                        "l2.lora_A",
                        "l2.lora_B");
        List<TensorSpec> t = spec.tensors();
        assertThat(t.get(0).shape()).containsExactly(4, 32);
        assertThat(t.get(1).shape()).containsExactly(64, 4);
        assertThat(t.get(2).shape()).containsExactly(4, 64);
        assertThat(t.get(3).shape()).containsExactly(64, 4);
        assertThat(t.get(4).shape()).containsExactly(4, 64);
        assertThat(t.get(5).shape()).containsExactly(8, 4);
        assertThat(t.get(0).init()).isEqualTo("normal");
        assertThat(t.get(0).scale()).isEqualTo(1 / Math.sqrt(32));
        assertThat(t.get(4).scale()).isEqualTo(1 / Math.sqrt(64));
        for (int i = 1; i < t.size(); i += 2) {
            assertThat(t.get(i).init()).isEqualTo("zeros");
        }
        assertThat(spec.parameterCount()).isEqualTo(128 + 256 + 256 + 256 + 256 + 32);
        // the spec survives its JSON form
        assertThat(FederationSpec.fromJson(spec.toJson())).isEqualTo(spec);
    }

    @Test
    void theBlockExposesTheSpecTensorsByName() {
        LoraMlp mlp = new LoraMlp(config);
        FederationSpec spec = mlp.spec("demo", 1);
        assertThat(mlp.adapterParameters().keySet())
                .containsExactlyElementsOf(spec.tensors().stream().map(TensorSpec::name).toList());
        for (TensorSpec t : spec.tensors()) {
            long[] shape = mlp.adapterParameters().get(t.name()).getShape().getShape();
            assertThat(shape)
                    .containsExactly(java.util.Arrays.stream(t.shape()).asLongStream().toArray());
        }
        assertThat(mlp.baseParameters().values()).noneMatch(p -> p.requiresGradient());
        assertThat(mlp.adapterParameters().values()).allMatch(p -> p.requiresGradient());
    }

    @Test
    void theBaseDependsOnlyOnTheBaseSeed() {
        LoraMlpConfig same = new LoraMlpConfig(32, 64, 8, 8, 16, 0.1, config.baseSeed());
        LoraMlpConfig other = new LoraMlpConfig(32, 64, 8, 4, 8, 0, config.baseSeed() + 1);
        for (int layer = 0; layer < LoraMlpConfig.LAYERS; layer++) {
            assertThat(BaseWeights.weight(config, layer))
                    .containsExactly(BaseWeights.weight(same, layer));
            assertThat(BaseWeights.bias(config, layer))
                    .containsExactly(BaseWeights.bias(same, layer));
            assertThat(BaseWeights.weight(config, layer))
                    .isNotEqualTo(BaseWeights.weight(other, layer));
        }
    }

    @Test
    void versionZeroComputesExactlyTheFrozenBase() {
        Examples data = SyntheticTask.forModel(config, 1).sample(50, 9);
        FederationSpec spec = LoraMlp.spec(config, "demo", 7);
        Map<String, float[]> v0 = spec.initialValues();
        Map<String, float[]> zeros = Adapters.apply(v0, v0, -1f); // all exactly 0
        try (LoraMlpSession session = new LoraMlpSession(config, "v0")) {
            int[] rows = Sampling.range(data.size());
            session.loadAdapter(zeros);
            float[] base = session.logits(data, rows, 0, rows.length);
            session.loadAdapter(v0);
            float[] atV0 = session.logits(data, rows, 0, rows.length);
            assertThat(atV0).containsExactly(base);
            // the adapter parameters really hold the loaded values
            assertThat(session.readAdapter().get("l0.lora_A")).containsExactly(v0.get("l0.lora_A"));
        }
    }
}
