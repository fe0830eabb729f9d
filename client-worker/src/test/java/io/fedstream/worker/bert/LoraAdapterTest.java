package io.fedstream.worker.bert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.bert.LoraConfig.Target;
import io.fedstream.worker.djl.AdapterGradients;
import io.fedstream.worker.djl.FloatTensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** LoRA on the pretrained MiniLM: what is trainable, what is exchanged, what is frozen. */
class LoraAdapterTest {
    private static final LoraConfig QUERY_VALUE =
            LoraConfig.of(8, 16, 0, Target.QUERY, Target.VALUE);
    private static final List<String> TEXTS =
            List.of("What are the symptoms of glaucoma?", "How is high blood pressure treated?");

    private static OnnxWeights onnx;
    private static TokenBatch batch;

    @BeforeAll
    static void setUp() throws IOException {
        onnx = MiniLm.onnx();
        try (var tokenizer = MiniLm.tokenizer(MiniLm.DEFAULT_MAX_TOKENS)) {
            batch = TokenBatch.encode(tokenizer, TEXTS);
        }
    }

    private static BertEncoder miniLm(LoraConfig lora) {
        return new BertEncoder(BertConfig.MINILM_L6, onnx.bertWeights(), lora);
    }

    @Test
    void withBZeroTheAdaptedModelComputesExactlyThePretrainedOne() {
        LoraConfig everywhere = new LoraConfig(8, 16, 0.1, EnumSet.allOf(Target.class));
        try (LoraBert base = new LoraBert(miniLm(LoraConfig.none()), 0);
                LoraBert adapted = new LoraBert(miniLm(everywhere), 7)) {
            float[] expected = base.lastHiddenState(batch);

            float[] actual = adapted.lastHiddenState(batch);

            assertThat(adapted.getAdapterTensor("layer0.query.lora_A"))
                    .isNotEqualTo(new float[8 * 384]);
            assertThat(adapted.getAdapterTensor("layer5.output.lora_B")).containsOnly(0f);
            assertThat(actual).containsExactly(expected);
        }
    }

    @Test
    void anAdapterActsLikeTheMergedWeightUpdate() {
        BertConfig config = TinyBert.CONFIG;
        BertWeights weights = TinyBert.randomWeights(config, 21);
        LoraConfig lora = LoraConfig.of(4, 8, 0, Target.KEY, Target.INTERMEDIATE);
        TokenBatch tiny = TinyBert.randomBatch(config, 3, 9, 22);
        try (LoraBert adapted = new LoraBert(new BertEncoder(config, weights, lora), 23)) {
            Map<String, float[]> adapter = randomAdapter(adapted.adapterSpec("f", 0), 0.3, 24);
            adapted.setAdapter(adapter);
            // W' = W + (alpha / r) B A for every adapted layer
            Map<String, FloatTensor> merged = new LinkedHashMap<>(weights.tensors());
            for (int layer = 0; layer < config.numLayers(); layer++) {
                for (Target t : lora.targets()) {
                    String hf = BertWeights.layerName(layer, t.hfModule()) + ".weight";
                    FloatTensor w = weights.get(hf);
                    float[] a = adapter.get(BertEncoder.adapterName(layer, t, "lora_A"));
                    float[] b = adapter.get(BertEncoder.adapterName(layer, t, "lora_B"));
                    merged.put(hf, plusScaledProduct(w, b, a, 4, lora.scaling()));
                }
            }
            try (LoraBert mergedModel =
                    new LoraBert(
                            new BertEncoder(config, BertWeights.of(merged), LoraConfig.none()),
                            0)) {
                float[] expected = mergedModel.lastHiddenState(tiny);

                float[] actual = adapted.lastHiddenState(tiny);

                assertThat(TinyBert.maxAbsDiff(actual, expected)).isLessThan(1e-4f);
                try (LoraBert unadapted =
                        new LoraBert(new BertEncoder(config, weights, LoraConfig.none()), 0)) {
                    assertThat(TinyBert.maxAbsDiff(actual, unadapted.lastHiddenState(tiny)))
                            .isGreaterThan(1e-2f);
                }
            }
        }
    }

    @Test
    void backwardReachesOnlyTheAdapterAndTheHead() {
        try (LoraBert model = new LoraBert(new BertClassifier(miniLm(QUERY_VALUE), 3), 1)) {
            // B != 0 so that A receives a gradient too
            model.setAdapter(randomAdapter(model.adapterSpec("f", 0), 0.05, 2));
            AdapterBlock block = model.block();

            AdapterGradients.backward(
                    model,
                    batch::toNDList,
                    (scope, out) ->
                            LoraBert.crossEntropy(
                                    out.singletonOrThrow(),
                                    scope.create(new float[] {1, 0, 0, 0, 0, 1}, new Shape(2, 3))));

            AdapterGradients.assertOnlyAdapterTrained(block.baseParameters(), block);
            assertThat(block.baseParameters()).hasSize(5 + 6 * 16);
        }
    }

    @Test
    void anOptimizerStepChangesTheAdapterAndHeadButNoBaseWeight() {
        try (LoraBert model = new LoraBert(new BertClassifier(miniLm(QUERY_VALUE), 3), 1)) {
            model.setAdapter(randomAdapter(model.adapterSpec("f", 0), 0.05, 3));
            Map<String, float[]> baseBefore = snapshot(model.block().baseParameters());
            Map<String, float[]> adapterBefore = model.getAdapter();

            try (LoraBert.Training training = model.newTraining(1e-3, 4)) {
                training.step(batch, new int[] {0, 2});
            }

            assertThat(snapshot(model.block().baseParameters()))
                    .containsExactlyEntriesOf(baseBefore);
            Map<String, float[]> adapterAfter = model.getAdapter();
            for (String name : adapterBefore.keySet()) {
                assertThat(adapterAfter.get(name)).as(name).isNotEqualTo(adapterBefore.get(name));
            }
        }
    }

    @Test
    void theSpecListsExactlyTheTensorsGetAndSetExchange() {
        try (LoraBert model = new LoraBert(new BertClassifier(miniLm(QUERY_VALUE), 16), 5)) {
            FederationSpec spec = model.adapterSpec("medquad", 5);

            List<String> names = spec.tensors().stream().map(TensorSpec::name).toList();
            assertThat(names).containsExactlyElementsOf(model.adapterNames());
            assertThat(model.getAdapter().keySet()).containsExactlyElementsOf(names);
            assertThat(names)
                    .hasSize(6 * 2 * 2 + 2)
                    .startsWith("layer0.query.lora_A", "layer0.query.lora_B", "layer0.value.lora_A")
                    .endsWith("layer5.value.lora_B", "head.weight", "head.bias");
            assertThat(spec.parameterCount())
                    .isEqualTo(model.adapterSize())
                    .isEqualTo(6 * 2 * (8 * 384 + 384 * 8) + 16 * 384 + 16);
            model.getAdapter()
                    .forEach(
                            (name, v) ->
                                    assertThat(v)
                                            .hasSize(
                                                    spec.tensors()
                                                            .get(names.indexOf(name))
                                                            .size()));
            // the local start is the federation's version 0 for the same seed
            assertThat(model.getAdapter()).containsExactlyEntriesOf(spec.initialValues());
            assertThat(names).noneMatch(n -> n.contains("weight") && !n.startsWith("head"));
        }
    }

    @Test
    void settingWhatWasReadChangesNothing() {
        try (LoraBert model = new LoraBert(new BertClassifier(miniLm(QUERY_VALUE), 3), 5)) {
            Map<String, float[]> values = randomAdapter(model.adapterSpec("f", 0), 0.1, 6);
            model.setAdapter(values);
            float[] logits = model.logits(batch);

            model.setAdapter(model.getAdapter());

            assertThat(model.getAdapter()).containsExactlyEntriesOf(values);
            assertThat(model.logits(batch)).containsExactly(logits);
            model.setAdapterTensor("head.bias", new float[] {1, 2, 3});
            assertThat(model.getAdapterTensor("head.bias")).containsExactly(1, 2, 3);
        }
    }

    @Test
    void targetModulesDecideTheSpec() {
        BertWeights weights = onnx.bertWeights();
        FederationSpec all =
                new BertEncoder(
                                BertConfig.MINILM_L6,
                                weights,
                                new LoraConfig(4, 8, 0, EnumSet.allOf(Target.class)))
                        .adapterSpec("f", 1);
        FederationSpec ffn =
                new BertEncoder(
                                BertConfig.MINILM_L6,
                                weights,
                                LoraConfig.of(2, 4, 0, Target.INTERMEDIATE, Target.OUTPUT))
                        .adapterSpec("f", 1);
        FederationSpec headOnly =
                new BertClassifier(
                                new BertEncoder(BertConfig.MINILM_L6, weights, LoraConfig.none()),
                                16)
                        .adapterSpec("f", 1);

        assertThat(all.tensors()).hasSize(6 * 6 * 2);
        assertThat(shapes(all))
                .containsEntry("layer2.key.lora_A", List.of(4, 384))
                .containsEntry("layer2.attention_output.lora_B", List.of(384, 4))
                .containsEntry("layer2.intermediate.lora_A", List.of(4, 384))
                .containsEntry("layer2.intermediate.lora_B", List.of(1536, 4))
                .containsEntry("layer2.output.lora_A", List.of(4, 1536))
                .containsEntry("layer2.output.lora_B", List.of(384, 4));
        assertThat(shapes(ffn).keySet())
                .hasSize(24)
                .allMatch(n -> n.contains(".intermediate.") || n.contains(".output."));
        assertThat(shapes(headOnly)).containsOnlyKeys("head.weight", "head.bias");
        assertThat(all.tensors().get(0).init()).isEqualTo("uniform");
        assertThat(all.tensors().get(0).scale()).isEqualTo(1 / Math.sqrt(384));
        assertThat(all.tensors().get(1).init()).isEqualTo("zeros");
        assertThat(LoraConfig.parseTargets("query, attention_output,OUTPUT"))
                .containsExactly(Target.QUERY, Target.ATTENTION_OUTPUT, Target.OUTPUT);
        assertThatThrownBy(
                        () ->
                                new BertEncoder(BertConfig.MINILM_L6, weights, LoraConfig.none())
                                        .adapterSpec("f", 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void baseWeightsCannotBeReadOrWrittenAsAdapterTensors() {
        try (LoraBert model = new LoraBert(new BertClassifier(miniLm(QUERY_VALUE), 3), 5)) {
            Map<String, float[]> missing = model.getAdapter();
            missing.remove("head.bias");
            Map<String, float[]> wrongSize = model.getAdapter();
            wrongSize.put("layer0.query.lora_A", new float[3]);

            assertThatThrownBy(
                            () ->
                                    model.getAdapterTensor(
                                            "encoder.layer.0.attention.self.query.weight"))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(
                            () ->
                                    model.setAdapterTensor(
                                            "embeddings.word_embeddings.weight", new float[1]))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> model.setAdapter(missing))
                    .isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> model.setAdapter(wrongSize))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("layer0.query.lora_A");
            assertThat(model.adapterNames())
                    .doesNotContainAnyElementsOf(model.block().baseParameters().keySet());
        }
    }

    static Map<String, float[]> randomAdapter(FederationSpec spec, double std, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (TensorSpec t : spec.tensors()) {
            float[] v = new float[t.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (std * TinyBert.gaussian(rnd));
            }
            out.put(t.name(), v);
        }
        return out;
    }

    private static Map<String, float[]> snapshot(Map<String, Parameter> params) {
        Map<String, float[]> out = new LinkedHashMap<>();
        params.forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
        return out;
    }

    private static Map<String, List<Integer>> shapes(FederationSpec spec) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        for (TensorSpec t : spec.tensors()) {
            List<Integer> s = new ArrayList<>();
            for (int d : t.shape()) {
                s.add(d);
            }
            out.put(t.name(), s);
        }
        return out;
    }

    // w [out, in] + scale * b [out, r] a [r, in]
    private static FloatTensor plusScaledProduct(
            FloatTensor w, float[] b, float[] a, int r, double scale) {
        int out = w.dim(0);
        int in = w.dim(1);
        float[] m = w.data().clone();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int k = 0; k < r; k++) {
                    s += (double) b[o * r + k] * a[k * in + i];
                }
                m[o * in + i] += (float) (scale * s);
            }
        }
        return new FloatTensor(new int[] {out, in}, m);
    }
}
