package io.fedstream.worker.decoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.nn.Parameter;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.bert.TinyBert;
import io.fedstream.worker.decoder.DecoderConfig.Family;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.djl.AdapterGradients;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.HalfFloats;
import io.fedstream.worker.weights.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The causal decoder: Hugging Face checkpoints written by the test compute what an independent
 * plain-Java implementation ({@link ReferenceDecoder}) computes; LoRA, gradients, answer loss,
 * training and greedy generation.
 */
class CausalLmTest {
    private static final float TOLERANCE = 1e-4f;

    @TempDir Path dir;

    @Test
    void aGpt2CheckpointComputesTheReferenceLogits() throws IOException {
        DecoderConfig config = TinyDecoder.GPT2;
        DecoderWeights weights = TinyDecoder.randomWeights(config, 1);
        // as GPT2LMHeadModel saves it: "transformer." prefix, the causal-mask buffers, no lm_head
        Map<String, FloatTensor> file = new LinkedHashMap<>();
        weights.modelTensors(config).forEach((k, v) -> file.put("transformer." + k, v));
        for (int i = 0; i < config.numLayers(); i++) {
            file.put(
                    "transformer.h." + i + ".attn.bias",
                    new FloatTensor(new int[] {1, 1, 24, 24}, new float[24 * 24]));
        }
        Files.writeString(dir.resolve("config.json"), config.toHfJson());
        SafeTensors.write(dir.resolve("model.safetensors"), file);
        long[] row0 = TinyDecoder.randomIds(config, 10, 2);
        long[] row1 = TinyDecoder.randomIds(config, 6, 3);
        CausalBatch batch = CausalBatch.of(List.of(row0, row1), List.of(new long[0], new long[0]));
        ReferenceDecoder reference = new ReferenceDecoder(config, file);

        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(dir);
        float[] logits;
        try (LoraCausalLm model =
                new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, DecoderLora.none()), 0)) {
            logits = model.logits(batch);
        }

        int v = config.vocabSize();
        assertThat(checkpoint.config()).isEqualTo(config);
        assertThat(logits).hasSize(2 * 10 * v);
        assertThat(TinyDecoder.maxAbsDiff(logits, reference.logits(row0), 0, v))
                .isLessThan(TOLERANCE);
        // the padded row: its tokens are unaffected by the padding after them
        assertThat(TinyDecoder.maxAbsDiff(logits, reference.logits(row1), 10 * v, v))
                .isLessThan(TOLERANCE);
        assertThat(Math.abs(logits[3]))
                .as("logits are not trivially small")
                .isGreaterThan(10 * TOLERANCE);
    }

    @Test
    void aBfloat16LlamaCheckpointWithGroupedQueryAttentionComputesTheReferenceLogits()
            throws IOException {
        DecoderConfig config = TinyDecoder.LLAMA;
        DecoderWeights weights = TinyDecoder.randomWeights(config, 4);
        DecoderCheckpoint.write(dir, config, weights, SafeTensors.DType.BF16);
        Map<String, FloatTensor> rounded = new LinkedHashMap<>();
        weights.modelTensors(config)
                .forEach(
                        (k, t) -> {
                            float[] r = new float[t.size()];
                            for (int i = 0; i < r.length; i++) {
                                r[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(t.data()[i]));
                            }
                            rounded.put(k, new FloatTensor(t.shape(), r));
                        });
        long[] ids = TinyDecoder.randomIds(config, 12, 5);

        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(dir);
        float[] logits;
        try (LoraCausalLm model =
                new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, DecoderLora.none()), 0)) {
            logits = model.logits(CausalBatch.of(List.of(ids), List.of(new long[0])));
        }

        assertThat(checkpoint.config().groups()).isEqualTo(2);
        assertThat(checkpoint.weights().modelTensors(config)).containsExactlyEntriesOf(rounded);
        double[][] expected = new ReferenceDecoder(config, rounded).logits(ids);
        assertThat(TinyDecoder.maxAbsDiff(logits, expected, 0, config.vocabSize()))
                .isLessThan(TOLERANCE);
        // the reference on the unrounded weights differs: the file really is bfloat16
        double[][] unrounded =
                new ReferenceDecoder(config, weights.modelTensors(config)).logits(ids);
        assertThat(TinyDecoder.maxAbsDiff(logits, unrounded, 0, config.vocabSize()))
                .isGreaterThan(1e-3);
    }

    @Test
    void anAdapterActsLikeTheMergedWeightUpdateInBothFamilies() {
        for (DecoderConfig config : List.of(TinyDecoder.GPT2, TinyDecoder.LLAMA)) {
            DecoderWeights weights = TinyDecoder.randomWeights(config, 6);
            EnumSet<Module> targets = EnumSet.allOf(Module.class);
            if (config.family() == Family.GPT2) {
                targets.remove(Module.GATE_PROJ);
            }
            DecoderLora lora = new DecoderLora(2, 6, 0, targets);
            long[] ids = TinyDecoder.randomIds(config, 9, 7);
            try (LoraCausalLm model = new LoraCausalLm(new CausalLm(config, weights, lora), 8)) {
                Map<String, float[]> adapter = randomAdapter(model, 0.3, 9);
                model.setAdapter(adapter);
                Map<String, FloatTensor> merged = merge(config, weights, adapter, lora);

                float[] logits = model.logits(CausalBatch.of(List.of(ids), List.of(new long[0])));

                double[][] expected = new ReferenceDecoder(config, merged).logits(ids);
                double[][] unadapted =
                        new ReferenceDecoder(config, weights.modelTensors(config)).logits(ids);
                int v = config.vocabSize();
                assertThat(TinyDecoder.maxAbsDiff(logits, expected, 0, v))
                        .as(config.family().toString())
                        .isLessThan(TOLERANCE);
                assertThat(TinyDecoder.maxAbsDiff(logits, unadapted, 0, v))
                        .as(config.family().toString())
                        .isGreaterThan(1e-2);
            }
        }
    }

    @Test
    void withBZeroTheAdaptedModelComputesExactlyThePretrainedOne() {
        for (DecoderConfig config : List.of(TinyDecoder.GPT2, TinyDecoder.LLAMA)) {
            DecoderWeights weights = TinyDecoder.randomWeights(config, 10);
            EnumSet<Module> targets = EnumSet.allOf(Module.class);
            if (config.family() == Family.GPT2) {
                targets.remove(Module.GATE_PROJ);
            }
            CausalBatch batch =
                    CausalBatch.of(
                            List.of(
                                    TinyDecoder.randomIds(config, 8, 11),
                                    TinyDecoder.randomIds(config, 5, 12)),
                            List.of(new long[0], new long[0]));
            try (LoraCausalLm base =
                            new LoraCausalLm(new CausalLm(config, weights, DecoderLora.none()), 0);
                    LoraCausalLm adapted =
                            new LoraCausalLm(
                                    new CausalLm(
                                            config, weights, new DecoderLora(4, 8, 0.1, targets)),
                                    13)) {
                float[] expected = base.logits(batch);

                float[] actual = adapted.logits(batch);

                assertThat(adapted.getAdapter().get("layer0.q_proj.lora_A"))
                        .isNotEqualTo(new float[4 * 16]);
                assertThat(adapted.getAdapter().get("layer1.down_proj.lora_B")).containsOnly(0f);
                assertThat(actual).containsExactly(expected);
                // the layout written from config.json alone is the model's
                List<TensorSpec> layout =
                        CausalLm.adapterTensors(config, new DecoderLora(4, 8, 0.1, targets));
                assertThat(layout).hasSize(2 * targets.size() * 2);
                for (TensorSpec t : layout) {
                    assertThat(
                                    adapted.block()
                                            .adapterParameters()
                                            .get(t.name())
                                            .getArray()
                                            .getShape()
                                            .getShape())
                            .as(t.name())
                            .containsExactly(Arrays.stream(t.shape()).asLongStream().toArray());
                }
            }
        }
    }

    @Test
    void backwardReachesOnlyTheAdapter() {
        DecoderConfig config = TinyDecoder.LLAMA;
        DecoderLora lora = new DecoderLora(2, 4, 0, EnumSet.allOf(Module.class));
        CausalBatch batch =
                CausalBatch.of(
                        List.of(TinyDecoder.randomIds(config, 5, 14)),
                        List.of(TinyDecoder.randomIds(config, 3, 15)));
        try (LoraCausalLm model =
                new LoraCausalLm(
                        new CausalLm(config, TinyDecoder.randomWeights(config, 16), lora), 17)) {
            model.setAdapter(randomAdapter(model, 0.05, 18)); // B != 0 so A gets a gradient
            CausalLm block = model.block();

            AdapterGradients.backward(
                    model, batch::toLossInputs, (scope, out) -> out.get(0).mean().neg());

            AdapterGradients.assertOnlyAdapterTrained(block.baseParameters(), block);
            // embeddings, 2 x (2 norms + 7 projections x (W, b)), final norm, lm_head
            assertThat(block.baseParameters()).hasSize(1 + 2 * (2 + 14) + 1 + 1);
            assertThat(block.adapterParameters()).hasSize(2 * 7 * 2);
        }
    }

    @Test
    void theAnswerLossScoresOnlyTheAnswerTokens() {
        DecoderConfig config = TinyDecoder.GPT2;
        DecoderWeights weights = TinyDecoder.randomWeights(config, 19);
        long[] prompt0 = TinyDecoder.randomIds(config, 6, 20);
        long[] answer0 = TinyDecoder.randomIds(config, 3, 21);
        long[] prompt1 = TinyDecoder.randomIds(config, 2, 22);
        long[] answer1 = TinyDecoder.randomIds(config, 2, 23);
        CausalBatch batch = CausalBatch.of(List.of(prompt0, prompt1), List.of(answer0, answer1));
        ReferenceDecoder reference = new ReferenceDecoder(config, weights.modelTensors(config));
        double expected =
                referenceNll(reference, prompt0, answer0)
                        + referenceNll(reference, prompt1, answer1);

        LoraCausalLm.AnswerLoss loss;
        try (LoraCausalLm model =
                new LoraCausalLm(new CausalLm(config, weights, DecoderLora.none()), 0)) {
            loss = model.answerLoss(batch);
        }

        assertThat(batch.answerTokens()).isEqualTo(5);
        assertThat(loss.tokens()).isEqualTo(5);
        assertThat(loss.sumNll()).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-3));
        assertThat(loss.perplexity())
                .isCloseTo(
                        Math.exp(expected / 5),
                        org.assertj.core.data.Percentage.withPercentage(0.1));
    }

    // -sum over answer tokens of log softmax(logits at the previous position)[token]
    private static double referenceNll(ReferenceDecoder reference, long[] prompt, long[] answer) {
        long[] seq = new long[prompt.length + answer.length];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        System.arraycopy(answer, 0, seq, prompt.length, answer.length);
        double[][] logits = reference.logits(seq);
        double nll = 0;
        for (int t = prompt.length; t < seq.length; t++) {
            double[] l = logits[t - 1];
            double max = Arrays.stream(l).max().orElseThrow();
            double z = 0;
            for (double x : l) {
                z += Math.exp(x - max);
            }
            nll -= l[(int) seq[t]] - max - Math.log(z);
        }
        return nll;
    }

    @Test
    void aFewTrainingStepsLearnTheAnswersAndLeaveTheBaseAlone() {
        DecoderConfig config = TinyDecoder.LLAMA;
        DecoderLora lora = DecoderLora.of(4, 8, 0, Module.Q_PROJ, Module.V_PROJ, Module.UP_PROJ);
        List<long[]> prompts = new ArrayList<>();
        List<long[]> answers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            long[] p = TinyDecoder.randomIds(config, 4, 30 + i);
            p[0] = config.bosTokenId();
            long[] a = TinyDecoder.randomIds(config, 3, 40 + i);
            a[2] = config.eosTokenId();
            prompts.add(p);
            answers.add(a);
        }
        CausalBatch batch = CausalBatch.of(prompts, answers);
        try (LoraCausalLm model =
                new LoraCausalLm(
                        new CausalLm(config, TinyDecoder.randomWeights(config, 24), lora), 25)) {
            Parameter embeddings = model.block().baseParameters().get("token_embeddings");
            float[] before = embeddings.getArray().toFloatArray();
            double initial = model.answerLoss(batch).mean();

            float last;
            try (LoraCausalLm.Training training = model.newTraining(0.02, 26)) {
                for (int step = 0; step < 60; step++) {
                    training.step(batch);
                }
                last = training.step(batch);
            }
            double after = model.answerLoss(batch).mean();

            assertThat(after).isLessThan(0.2 * initial);
            assertThat((double) last).isLessThan(0.5 * initial);
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(model.generate(prompts.get(i), 5))
                        .as("answer %d", i)
                        .containsExactly(Arrays.copyOf(answers.get(i), 2));
            }
            assertThat(embeddings.getArray().toFloatArray()).containsExactly(before);
        }
    }

    @Test
    void greedyGenerationIsDeterministicAndTheKvCacheChangesNothing() {
        for (DecoderConfig config : List.of(TinyDecoder.GPT2, TinyDecoder.LLAMA)) {
            DecoderWeights weights = TinyDecoder.randomWeights(config, 27);
            long[] prompt = TinyDecoder.randomIds(config, 5, 28);
            long[] expected =
                    new ReferenceDecoder(config, weights.modelTensors(config)).greedy(prompt, 10);
            int eos = -1;
            for (int i = 0; i < expected.length && eos < 0; i++) {
                if (expected[i] == config.eosTokenId()) {
                    eos = i;
                }
            }
            if (eos >= 0) {
                expected = Arrays.copyOf(expected, eos);
            }
            try (LoraCausalLm model =
                    new LoraCausalLm(new CausalLm(config, weights, DecoderLora.none()), 0)) {
                long[] first = model.generate(prompt, 10);
                long[] second = model.generate(prompt, 10);
                long[] uncached = model.generateWithoutCache(prompt, 10);

                assertThat(first).as(config.family().toString()).containsExactly(expected);
                assertThat(second).containsExactly(first);
                assertThat(uncached).containsExactly(first);
            }
        }
    }

    @Test
    void theCheckpointsTokenizerAndTheInstructionLayout() throws IOException {
        DecoderConfig config = TinyDecoder.LLAMA;
        DecoderCheckpoint.write(
                dir, config, TinyDecoder.randomWeights(config, 29), SafeTensors.DType.F16);
        List<String> vocab =
                new ArrayList<>(
                        List.of(
                                "<pad>", "<s>", "</s>", "<unk>", "what", "is", "flu", "?", "a",
                                "virus"));
        Files.writeString(
                dir.resolve("tokenizer.json"),
                TinyDecoder.wordLevelTokenizerJson(
                        vocab, List.of("<pad>", "<s>", "</s>", "<unk>")));
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(dir);

        try (HuggingFaceTokenizer tokenizer = checkpoint.tokenizer()) {
            long[][] full = CausalBatch.encode(tokenizer, config, "what is flu ?", "a virus", 16);
            long[][] cut = CausalBatch.encode(tokenizer, config, "what is flu ?", "a virus", 5);
            CausalBatch batch = CausalBatch.of(List.of(full[0]), List.of(full[1]));

            assertThat(checkpoint.hasTokenizer()).isTrue();
            assertThat(tokenizer.encode("what is dengue ?").getIds()).containsExactly(4, 5, 3, 7);
            assertThat(full[0]).containsExactly(1, 4, 5, 6, 7);
            assertThat(full[1]).containsExactly(8, 9, 2);
            assertThat(cut[0]).containsExactly(5, 6, 7);
            assertThat(cut[1]).containsExactly(8, 9);
            assertThat(batch.lossMask()).containsExactly(0, 0, 0, 0, 0, 1, 1, 1);
            assertThat(batch.lossTargets()[0]).containsExactly(4, 5, 6);
            assertThat(batch.lossTargets()[1]).containsExactly(8, 9, 2);
        }
    }

    @Test
    void readsHuggingFaceConfigsAndRefusesWhatItWouldComputeDifferently() {
        String gpt2 =
                "{\"activation_function\":\"gelu_new\",\"architectures\":[\"GPT2LMHeadModel\"],"
                        + "\"bos_token_id\":50256,\"eos_token_id\":50256,\"layer_norm_epsilon\":1e-05,"
                        + "\"model_type\":\"gpt2\",\"n_ctx\":1024,\"n_embd\":768,\"n_head\":12,"
                        + "\"n_inner\":null,\"n_layer\":12,\"n_positions\":1024,\"vocab_size\":50257}";
        String llama =
                "{\"architectures\":[\"LlamaForCausalLM\"],\"bos_token_id\":1,\"eos_token_id\":2,"
                        + "\"hidden_act\":\"silu\",\"hidden_size\":2048,\"intermediate_size\":5632,"
                        + "\"max_position_embeddings\":2048,\"model_type\":\"llama\","
                        + "\"num_attention_heads\":32,\"num_hidden_layers\":22,"
                        + "\"num_key_value_heads\":4,\"rms_norm_eps\":1e-05,\"rope_scaling\":null,"
                        + "\"rope_theta\":10000.0,\"tie_word_embeddings\":false,\"vocab_size\":32000}";

        DecoderConfig g = DecoderConfig.fromHfJson(gpt2);
        DecoderConfig l = DecoderConfig.fromHfJson(llama);

        assertThat(g)
                .isEqualTo(
                        new DecoderConfig(
                                Family.GPT2,
                                50257,
                                768,
                                12,
                                12,
                                12,
                                3072,
                                1024,
                                1e-5,
                                10000,
                                false,
                                false,
                                true,
                                50256,
                                50256));
        assertThat(l.groups()).isEqualTo(8);
        assertThat(l.headDim()).isEqualTo(64);
        assertThat(l.tieWordEmbeddings()).isFalse();
        assertThat(DecoderConfig.fromHfJson(TinyDecoder.LLAMA.toHfJson()))
                .isEqualTo(TinyDecoder.LLAMA);
        assertThat(DecoderConfig.fromHfJson(TinyDecoder.GPT2.toHfJson()))
                .isEqualTo(TinyDecoder.GPT2);
        assertThatThrownBy(
                        () ->
                                DecoderConfig.fromHfJson(
                                        llama.replace(
                                                "\"rope_scaling\":null",
                                                "\"rope_scaling\":{\"type\":\"yarn\",\"factor\":2}")))
                .hasMessageContaining("rope_scaling type 'yarn'");
        assertThatThrownBy(() -> DecoderConfig.fromHfJson(llama.replace("\"llama\"", "\"bert\"")))
                .hasMessageContaining("bert");
        assertThatThrownBy(() -> DecoderConfig.fromHfJson(gpt2.replace("gelu_new", "relu")))
                .hasMessageContaining("relu");
        assertThatThrownBy(
                        () ->
                                new CausalLm(
                                        TinyDecoder.GPT2,
                                        TinyDecoder.randomWeights(TinyDecoder.GPT2, 1),
                                        DecoderLora.of(2, 4, 0, Module.GATE_PROJ)))
                .hasMessageContaining("gate_proj");
        Map<String, FloatTensor> missing =
                new LinkedHashMap<>(
                        TinyDecoder.randomWeights(TinyDecoder.LLAMA, 2)
                                .modelTensors(TinyDecoder.LLAMA));
        missing.remove("model.layers.1.self_attn.k_proj.weight");
        assertThatThrownBy(() -> DecoderWeights.of(missing).validate(TinyDecoder.LLAMA))
                .hasMessageContaining("missing model.layers.1.self_attn.k_proj.weight");
    }

    static Map<String, float[]> randomAdapter(LoraCausalLm model, double std, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (TensorSpec t : model.adapterSpec("f", 0).tensors()) {
            float[] v = new float[Math.toIntExact(t.size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (std * TinyBert.gaussian(rnd));
            }
            out.put(t.name(), v);
        }
        return out;
    }

    /**
     * The checkpoint tensors with every adapter merged in: {@code W += (alpha / r) B A} in {@code
     * nn.Linear} layout, or its transpose into the right columns of GPT-2's Conv1D weights.
     */
    static Map<String, FloatTensor> merge(
            DecoderConfig config,
            DecoderWeights weights,
            Map<String, float[]> adapter,
            DecoderLora lora) {
        Map<String, FloatTensor> out = new LinkedHashMap<>(weights.modelTensors(config));
        int h = config.hiddenSize();
        for (int layer = 0; layer < config.numLayers(); layer++) {
            for (Module m : lora.targets()) {
                float[] a = adapter.get(CausalLm.adapterName(layer, m, "lora_A"));
                float[] b = adapter.get(CausalLm.adapterName(layer, m, "lora_B"));
                int r = lora.rank();
                int in = a.length / r;
                int outF = b.length / r;
                String name;
                int columnOffset = 0;
                boolean conv1d = config.family() == Family.GPT2;
                if (conv1d) {
                    name =
                            switch (m) {
                                case Q_PROJ, K_PROJ, V_PROJ -> "attn.c_attn.weight";
                                case O_PROJ -> "attn.c_proj.weight";
                                case UP_PROJ -> "mlp.c_fc.weight";
                                case DOWN_PROJ -> "mlp.c_proj.weight";
                                case GATE_PROJ -> throw new IllegalStateException();
                            };
                    columnOffset = m == Module.K_PROJ ? h : m == Module.V_PROJ ? 2 * h : 0;
                } else {
                    name = (m.isAttention() ? "self_attn." : "mlp.") + m.moduleName() + ".weight";
                }
                String full = DecoderWeights.layerName(config, layer, name);
                FloatTensor w = out.get(full);
                float[] data = w.data().clone();
                int cols = w.dim(1);
                for (int o = 0; o < outF; o++) {
                    for (int i = 0; i < in; i++) {
                        double d = 0;
                        for (int k = 0; k < r; k++) {
                            d += b[o * r + k] * a[k * in + i];
                        }
                        float delta = (float) (lora.scaling() * d);
                        if (conv1d) {
                            data[i * cols + columnOffset + o] += delta;
                        } else {
                            data[o * cols + i] += delta;
                        }
                    }
                }
                out.put(full, new FloatTensor(w.shape(), data));
            }
        }
        return out;
    }
}
