package io.fedstream.worker.decoder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.HalfFloats;
import io.fedstream.worker.weights.SafeTensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Today's open checkpoint families, tiny and random but in their real Hugging Face layout (their
 * own {@code config.json} keys, BF16 and F32 safetensors, a sharded index): the decoder computes
 * what the independent double-precision {@link ReferenceDecoder} computes and, where Debian's
 * python3-torch is installed, what an independent PyTorch forward pass ({@code torch_reference.py}
 * in a child process) computes on the same files.
 */
class OpenCheckpointsTest {
    private static final double TOLERANCE = 1e-4;

    @TempDir Path dir;

    /** The families, as their config.json files say it (sizes shrunk). */
    enum Checkpoint {
        /** Llama-3.2-1B: llama3 rope scaling, theta 500000, tied, three EOS ids. */
        LLAMA32(
                """
                {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
                 "bos_token_id":1,"eos_token_id":[2,60,61],"head_dim":8,"hidden_act":"silu",
                 "hidden_size":32,"initializer_range":0.02,"intermediate_size":48,
                 "max_position_embeddings":64,"mlp_bias":false,"model_type":"llama",
                 "num_attention_heads":4,"num_hidden_layers":2,"num_key_value_heads":2,
                 "pretraining_tp":1,"rms_norm_eps":1e-05,
                 "rope_scaling":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,
                   "original_max_position_embeddings":256,"rope_type":"llama3"},
                 "rope_theta":500000.0,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
                 "transformers_version":"4.45.0.dev0","use_cache":true,"vocab_size":64}"""),
        /** Llama-3.1-8B-style: the same scaling with an untied head. */
        LLAMA31_UNTIED(
                LLAMA32.json.replace(
                        "\"tie_word_embeddings\":true", "\"tie_word_embeddings\":false")),
        /** Qwen2.5-0.5B: q/k/v biases, theta 1e6, tied, grouped-query attention. */
        QWEN25(
                """
                {"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,"bos_token_id":62,
                 "eos_token_id":62,"hidden_act":"silu","hidden_size":32,"initializer_range":0.02,
                 "intermediate_size":48,"max_position_embeddings":64,"max_window_layers":2,
                 "model_type":"qwen2","num_attention_heads":4,"num_hidden_layers":2,
                 "num_key_value_heads":2,"rms_norm_eps":1e-06,"rope_theta":1000000.0,
                 "sliding_window":64,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
                 "transformers_version":"4.43.1","use_cache":true,"use_sliding_window":false,
                 "vocab_size":64}"""),
        /** SmolLM2-135M: Llama architecture, tied, theta 100000. */
        SMOLLM2(
                """
                {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
                 "bos_token_id":0,"eos_token_id":0,"hidden_act":"silu","hidden_size":32,
                 "initializer_range":0.041666666666666664,"intermediate_size":48,
                 "max_position_embeddings":64,"mlp_bias":false,"model_type":"llama",
                 "num_attention_heads":4,"num_hidden_layers":2,"num_key_value_heads":4,
                 "pretraining_tp":1,"rms_norm_eps":1e-05,"rope_scaling":null,"rope_theta":100000,
                 "tie_word_embeddings":true,"torch_dtype":"bfloat16",
                 "transformers_version":"4.42.3","use_cache":true,"vocab_size":64}"""),
        /** Mistral-7B-v0.1: a 4-token sliding window here (4096 there), untied. */
        MISTRAL(
                """
                {"architectures":["MistralForCausalLM"],"bos_token_id":1,"eos_token_id":2,
                 "hidden_act":"silu","hidden_size":32,"initializer_range":0.02,
                 "intermediate_size":48,"max_position_embeddings":64,"model_type":"mistral",
                 "num_attention_heads":4,"num_hidden_layers":2,"num_key_value_heads":2,
                 "rms_norm_eps":1e-05,"rope_theta":10000.0,"sliding_window":4,
                 "tie_word_embeddings":false,"torch_dtype":"bfloat16",
                 "transformers_version":"4.34.0.dev0","use_cache":true,"vocab_size":64}""");

        final String json;

        Checkpoint(String json) {
            this.json = json;
        }

        DecoderConfig config() {
            return DecoderConfig.fromHfJson(json);
        }
    }

    /** Writes {@code cp} with random weights: one file, or {@code shards} files and an index. */
    static DecoderWeights write(
            Path dir, Checkpoint cp, SafeTensors.DType dtype, int shards, long seed)
            throws IOException {
        DecoderConfig config = cp.config();
        DecoderWeights weights = TinyDecoder.randomWeights(config, seed);
        if (shards > 1) {
            DecoderCheckpoint.writeSharded(dir, config, weights, dtype, shards);
        } else {
            DecoderCheckpoint.write(dir, config, weights, dtype);
        }
        Files.writeString(dir.resolve("config.json"), cp.json); // the family's own keys
        return weights;
    }

    static Map<String, FloatTensor> roundedToBf16(Map<String, FloatTensor> tensors) {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        tensors.forEach(
                (k, t) -> {
                    float[] r = new float[t.size()];
                    for (int i = 0; i < r.length; i++) {
                        r[i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(t.data()[i]));
                    }
                    out.put(k, new FloatTensor(t.shape(), r));
                });
        return out;
    }

    static float[] logits(Path dir, long[] ids) throws IOException {
        DecoderCheckpoint checkpoint = DecoderCheckpoint.load(dir);
        try (LoraCausalLm model =
                new LoraCausalLm(CausalLm.fromCheckpoint(checkpoint, DecoderLora.none()), 0)) {
            return model.logits(CausalBatch.of(List.of(ids), List.of(new long[0])));
        }
    }

    @Test
    void eachFamilysConfigIsReadWithItsFeatures() {
        DecoderConfig llama = Checkpoint.LLAMA32.config();
        assertThat(llama.ropeScaling()).isEqualTo(RopeScaling.llama3(8, 1, 4, 256));
        assertThat(llama.ropeTheta()).isEqualTo(500000);
        assertThat(llama.tieWordEmbeddings()).isTrue();
        assertThat(llama.eosTokenIds()).containsExactly(2, 60, 61);
        assertThat(llama.isEos(61)).isTrue();
        assertThat(Checkpoint.LLAMA31_UNTIED.config().tieWordEmbeddings()).isFalse();
        DecoderConfig qwen = Checkpoint.QWEN25.config();
        assertThat(qwen.qkvBias()).isTrue();
        assertThat(qwen.attentionBias()).isFalse();
        assertThat(qwen.ropeTheta()).isEqualTo(1e6);
        assertThat(qwen.groups()).isEqualTo(2);
        assertThat(qwen.slidingWindow()).as("use_sliding_window is false").isZero();
        assertThat(qwen.hasBos()).as("Qwen2 tokenizers add no BOS").isFalse();
        assertThat(DecoderWeights.expectedShapes(qwen))
                .containsKeys("model.layers.1.self_attn.v_proj.bias")
                .doesNotContainKeys("model.layers.1.self_attn.o_proj.bias", "lm_head.weight");
        assertThat(Checkpoint.SMOLLM2.config().ropeScaling()).isEqualTo(RopeScaling.NONE);
        assertThat(Checkpoint.MISTRAL.config().slidingWindow()).isEqualTo(4);
        for (Checkpoint cp : Checkpoint.values()) {
            DecoderConfig c = cp.config();
            assertThat(DecoderConfig.fromHfJson(c.toHfJson())).as(cp.name()).isEqualTo(c);
        }
        assertThat(
                        DecoderConfig.fromHfJson(
                                        Checkpoint.LLAMA32.json.replace(
                                                "\"rope_type\":\"llama3\"", "\"type\":\"linear\""))
                                .ropeScaling())
                .isEqualTo(RopeScaling.linear(8));
    }

    @ParameterizedTest
    @EnumSource(Checkpoint.class)
    void aBfloat16CheckpointComputesTheReferenceLogits(Checkpoint cp) throws IOException {
        DecoderWeights weights = write(dir, cp, SafeTensors.DType.BF16, 1, cp.ordinal() + 1);
        DecoderConfig config = cp.config();
        long[] ids = TinyDecoder.randomIds(config, 12, 7);

        float[] logits = logits(dir, ids);

        Map<String, FloatTensor> rounded = roundedToBf16(weights.modelTensors(config));
        double[][] expected = new ReferenceDecoder(config, rounded).logits(ids);
        assertThat(TinyDecoder.maxAbsDiff(logits, expected, 0, config.vocabSize()))
                .isLessThan(TOLERANCE);
        assertThat(Math.abs(logits[5])).isGreaterThan(1e-2f);
    }

    @ParameterizedTest
    @EnumSource(Checkpoint.class)
    void aShardedFloat32CheckpointComputesTheReferenceAndPyTorchLogits(Checkpoint cp)
            throws Exception {
        DecoderWeights weights = write(dir, cp, SafeTensors.DType.F32, 3, cp.ordinal() + 11);
        DecoderConfig config = cp.config();
        long[] ids = TinyDecoder.randomIds(config, 12, 8);

        float[] logits = logits(dir, ids);

        assertThat(Files.exists(dir.resolve("model.safetensors"))).isFalse();
        double[][] expected =
                new ReferenceDecoder(config, weights.modelTensors(config)).logits(ids);
        assertThat(TinyDecoder.maxAbsDiff(logits, expected, 0, config.vocabSize()))
                .isLessThan(TOLERANCE);
        double[][] torch = torchLogits(dir, ids);
        if (torch != null) {
            assertThat(TinyDecoder.maxAbsDiff(logits, torch, 0, config.vocabSize()))
                    .as("against PyTorch")
                    .isLessThan(TOLERANCE);
        }
    }

    /**
     * Each feature changes the logits by far more than the tolerance, so computing without it (or
     * with another formula) fails the tests above.
     */
    @Test
    void everyFeatureMattersToTheLogits() {
        long[] ids = LongStream.range(3, 23).toArray();
        Map<String, UnaryOperator<DecoderConfig>> without =
                Map.of(
                        "LLAMA32",
                        c -> c.withVariant("llama", RopeScaling.NONE, 0, false),
                        "QWEN25",
                        c -> c.withVariant("qwen2", RopeScaling.NONE, 0, false),
                        "MISTRAL",
                        c -> c.withVariant("mistral", RopeScaling.NONE, 0, false));
        for (Map.Entry<String, UnaryOperator<DecoderConfig>> e : without.entrySet()) {
            DecoderConfig config = Checkpoint.valueOf(e.getKey()).config();
            DecoderWeights weights = TinyDecoder.randomWeights(config, 3);
            Map<String, FloatTensor> tensors = new LinkedHashMap<>(weights.modelTensors(config));
            double[][] with = new ReferenceDecoder(config, tensors).logits(ids);
            DecoderConfig plain = e.getValue().apply(config);
            tensors.keySet().removeIf(k -> k.endsWith("_proj.bias"));
            double[][] other = new ReferenceDecoder(plain, tensors).logits(ids);
            double diff = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int v = 0; v < config.vocabSize(); v++) {
                    diff = Math.max(diff, Math.abs(with[t][v] - other[t][v]));
                }
            }
            assertThat(diff).as(e.getKey()).isGreaterThan(100 * TOLERANCE);
        }
    }

    @ParameterizedTest
    @EnumSource(Checkpoint.class)
    void loraOnEveryAttentionAndMlpProjectionActsLikeTheMergedUpdate(Checkpoint cp) {
        DecoderConfig config = cp.config();
        DecoderWeights weights = TinyDecoder.randomWeights(config, 21);
        DecoderLora lora = new DecoderLora(2, 4, 0, EnumSet.allOf(Module.class));
        long[] ids = TinyDecoder.randomIds(config, 10, 22);
        try (LoraCausalLm model = new LoraCausalLm(new CausalLm(config, weights, lora), 23)) {
            Map<String, float[]> adapter = CausalLmTest.randomAdapter(model, 0.3, 24);
            model.setAdapter(adapter);

            float[] logits = model.logits(CausalBatch.of(List.of(ids), List.of(new long[0])));

            Map<String, FloatTensor> merged = CausalLmTest.merge(config, weights, adapter, lora);
            double[][] expected = new ReferenceDecoder(config, merged).logits(ids);
            assertThat(model.adapterNames()).hasSize(config.numLayers() * 7 * 2);
            assertThat(TinyDecoder.maxAbsDiff(logits, expected, 0, config.vocabSize()))
                    .isLessThan(TOLERANCE);
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = Checkpoint.class,
            names = {"LLAMA32", "QWEN25", "MISTRAL"})
    void cachedGreedyGenerationFollowsTheReferencePastTheWindow(Checkpoint cp) {
        DecoderConfig config = cp.config();
        DecoderWeights weights = TinyDecoder.randomWeights(config, 31);
        long[] prompt = TinyDecoder.randomIds(config, 3, 32);
        long[] expected =
                new ReferenceDecoder(config, weights.modelTensors(config)).greedy(prompt, 12);
        int stop = 0;
        while (stop < expected.length && !config.isEos(expected[stop])) {
            stop++;
        }
        try (LoraCausalLm model =
                new LoraCausalLm(new CausalLm(config, weights, DecoderLora.none()), 0)) {
            assertThat(model.generate(prompt, 12)).containsExactly(Arrays.copyOf(expected, stop));
            assertThat(model.generateWithoutCache(prompt, 12))
                    .containsExactly(Arrays.copyOf(expected, stop));
        }
    }

    // ---- bad input ----------------------------------------------------------------------------

    @Test
    void anUnknownRopeTypeOrActivationIsRefusedByName() throws IOException {
        String yarn =
                Checkpoint.LLAMA32.json.replace(
                        "\"rope_type\":\"llama3\"", "\"rope_type\":\"yarn\"");
        write(dir, Checkpoint.LLAMA32, SafeTensors.DType.BF16, 1, 1);
        Files.writeString(dir.resolve("config.json"), yarn);
        assertThatThrownBy(() -> DecoderCheckpoint.load(dir))
                .hasMessageContaining("config.json")
                .hasMessageContaining("rope_scaling type 'yarn'");
        assertThatThrownBy(
                        () ->
                                DecoderConfig.fromHfJson(
                                        Checkpoint.QWEN25.json.replace(
                                                "\"silu\"", "\"gelu_pytorch_tanh\"")))
                .hasMessageContaining("hidden_act gelu_pytorch_tanh");
        assertThatThrownBy(
                        () ->
                                DecoderConfig.fromHfJson(
                                        Checkpoint.LLAMA32.json.replace(
                                                "\"low_freq_factor\":1.0,", "")))
                .hasMessageContaining("low_freq_factor");
        assertThatThrownBy(
                        () ->
                                DecoderConfig.fromHfJson(
                                        Checkpoint.QWEN25.json.replace(
                                                "\"use_sliding_window\":false",
                                                "\"use_sliding_window\":true")))
                .hasMessageContaining("use_sliding_window");
    }

    @Test
    void aMissingTokenizerOrShardIsNamed() throws IOException {
        write(dir, Checkpoint.QWEN25, SafeTensors.DType.BF16, 3, 1);
        assertThatThrownBy(() -> DecoderCheckpoint.requireTokenizer(dir))
                .hasMessageContaining(dir.resolve("tokenizer.json").toString());
        Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
        assertThatThrownBy(() -> DecoderCheckpoint.load(dir))
                .hasMessageContaining("model.safetensors.index.json names shard")
                .hasMessageContaining("model-00002-of-00003.safetensors");
    }

    @Test
    void aTensorOfTheWrongShapeOrDtypeIsNamed() throws IOException {
        DecoderConfig config = Checkpoint.QWEN25.config();
        Map<String, FloatTensor> tensors =
                new LinkedHashMap<>(TinyDecoder.randomWeights(config, 1).modelTensors(config));
        tensors.put(
                "model.layers.1.self_attn.k_proj.bias",
                new FloatTensor(new int[] {32}, new float[32]));
        Files.writeString(dir.resolve("config.json"), Checkpoint.QWEN25.json);
        SafeTensors.write(dir.resolve("model.safetensors"), tensors);
        assertThatThrownBy(() -> DecoderCheckpoint.load(dir))
                .hasMessageContaining(
                        "model.layers.1.self_attn.k_proj.bias has shape [32], expected [16]");

        tensors.put(
                "model.layers.1.self_attn.k_proj.bias",
                new FloatTensor(new int[] {16}, new float[16]));
        SafeTensors.write(dir.resolve("model.safetensors"), tensors);
        Path file = dir.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(file);
        int headerLength =
                (int)
                        java.nio.ByteBuffer.wrap(bytes, 0, 8)
                                .order(java.nio.ByteOrder.LITTLE_ENDIAN)
                                .getLong();
        String header = new String(bytes, 8, headerLength, StandardCharsets.ISO_8859_1);
        int at = header.indexOf("\"model.norm.weight\":{\"dtype\":\"F32\"");
        assertThat(at).isPositive();
        int dtype = 8 + at + "\"model.norm.weight\":{\"dtype\":\"".length();
        bytes[dtype] = 'I'; // F32 -> I32, same width
        Files.write(file, bytes);
        assertThatThrownBy(() -> DecoderCheckpoint.load(dir))
                .hasMessageContaining("model.norm.weight has dtype I32 in model.safetensors");
    }

    /**
     * A 16-bit checkpoint's matrices are held as float16 (its file size) and its vectors as
     * float32; training computes its gradients layer by layer (recomputing each layer), and they
     * are those of one recorded pass through the whole model, dropout masks included.
     */
    @ParameterizedTest
    @EnumSource(
            value = Checkpoint.class,
            names = {"QWEN25", "LLAMA31_UNTIED"})
    void layerByLayerGradientsOfAHalfPrecisionCheckpointAreThoseOfOneRecordedPass(Checkpoint cp)
            throws IOException {
        write(dir, cp, SafeTensors.DType.BF16, 2, cp.ordinal() + 41);
        DecoderConfig config = cp.config();
        DecoderLora lora = new DecoderLora(2, 4, 0.1, EnumSet.allOf(Module.class));
        CausalBatch batch =
                CausalBatch.of(
                        List.of(
                                TinyDecoder.randomIds(config, 6, 42),
                                TinyDecoder.randomIds(config, 3, 43)),
                        List.of(
                                TinyDecoder.randomIds(config, 4, 44),
                                TinyDecoder.randomIds(config, 5, 45)));
        try (LoraCausalLm model =
                new LoraCausalLm(CausalLm.fromCheckpoint(DecoderCheckpoint.load(dir), lora), 46)) {
            model.setAdapter(CausalLmTest.randomAdapter(model, 0.05, 47));
            CausalLm block = model.block();
            Map<String, ai.djl.nn.Parameter> base = block.baseParameters();
            assertThat(base.get("layer1.gate_proj.weight").getArray().getDataType())
                    .isEqualTo(ai.djl.ndarray.types.DataType.FLOAT16);
            assertThat(base.get("token_embeddings").getArray().getDataType())
                    .isEqualTo(ai.djl.ndarray.types.DataType.FLOAT16);
            assertThat(base.get("layer0.norm1.weight").getArray().getDataType())
                    .isEqualTo(ai.djl.ndarray.types.DataType.FLOAT32);

            block.seedDropout(48);
            block.beginPasses();
            float recordedLoss;
            Map<String, float[]> recorded;
            try (ai.djl.ndarray.NDManager scope = model.model().getNDManager().newSubManager();
                    ai.djl.training.GradientCollector collector =
                            io.fedstream.worker.djl.DjlRuntime.engine().newGradientCollector()) {
                ai.djl.ndarray.NDList in = batch.toLossInputs(scope);
                ai.djl.ndarray.NDArray loss =
                        block.forward(new ai.djl.training.ParameterStore(scope, false), in, true)
                                .get(0)
                                .mean()
                                .neg();
                recordedLoss = loss.getFloat();
                collector.backward(loss);
                recorded = adapterGradients(block);
            }
            block.seedDropout(48);
            float layerwiseLoss;
            Map<String, float[]> layerwise;
            try (ai.djl.ndarray.NDManager scope = model.model().getNDManager().newSubManager();
                    ai.djl.training.GradientCollector collector =
                            io.fedstream.worker.djl.DjlRuntime.engine().newGradientCollector()) {
                layerwiseLoss =
                        block.lossAndGradients(
                                new ai.djl.training.ParameterStore(scope, false),
                                batch.toLossInputs(scope),
                                collector);
                // gradients accumulate: subtract the recorded pass's
                layerwise = adapterGradients(block);
            }
            assertThat(layerwiseLoss)
                    .isCloseTo(recordedLoss, org.assertj.core.data.Offset.offset(1e-5f));
            for (Map.Entry<String, float[]> e : recorded.entrySet()) {
                float[] r = e.getValue();
                float[] both = layerwise.get(e.getKey());
                double scale = 0;
                double diff = 0;
                for (int i = 0; i < r.length; i++) {
                    scale = Math.max(scale, Math.abs(r[i]));
                    diff = Math.max(diff, Math.abs((both[i] - r[i]) - r[i]));
                }
                assertThat(scale).as(e.getKey()).isPositive();
                assertThat(diff).as(e.getKey()).isLessThan(1e-4 * scale);
            }
        }
    }

    private static Map<String, float[]> adapterGradients(CausalLm block) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, ai.djl.nn.Parameter> e : block.adapterParameters().entrySet()) {
            try (ai.djl.ndarray.NDArray g = e.getValue().getArray().getGradient()) {
                out.put(e.getKey(), g.toFloatArray());
            }
        }
        return out;
    }

    // ---- the PyTorch reference ----------------------------------------------------------------

    /** The logits of torch_reference.py, or null (the test then skips that part) without torch. */
    static double[][] torchLogits(Path checkpoint, long[] ids) throws Exception {
        String python = torchPython();
        if (python == null) {
            return null;
        }
        Path script = checkpoint.resolve("torch_reference.py");
        try (var in = OpenCheckpointsTest.class.getResourceAsStream("torch_reference.py")) {
            Files.write(script, in.readAllBytes());
        }
        Process p =
                new ProcessBuilder(
                                python,
                                script.toString(),
                                checkpoint.toString(),
                                Arrays.stream(ids)
                                        .mapToObj(Long::toString)
                                        .collect(Collectors.joining(",")))
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        byte[] out = p.getInputStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("torch_reference.py").isZero();
        Files.delete(script);
        return new ObjectMapper().readValue(out, double[][].class);
    }

    private static String torchPython() throws InterruptedException {
        for (String python : List.of("/usr/bin/python3", "python3")) {
            try {
                Process p =
                        new ProcessBuilder(python, "-c", "import torch, numpy")
                                .redirectErrorStream(true)
                                .start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return python;
                }
            } catch (IOException e) {
                // not installed
            }
        }
        return null;
    }

    @Test
    void thePyTorchReferenceRunsWhereTorchIsInstalled() throws Exception {
        Assumptions.assumeTrue(torchPython() != null, "python3-torch is not installed");
        DecoderWeights weights = write(dir, Checkpoint.LLAMA32, SafeTensors.DType.BF16, 1, 5);
        DecoderConfig config = Checkpoint.LLAMA32.config();
        long[] ids = TinyDecoder.randomIds(config, 9, 6);

        double[][] torch = torchLogits(dir, ids);

        double[][] expected =
                new ReferenceDecoder(config, roundedToBf16(weights.modelTensors(config)))
                        .logits(ids);
        for (int t = 0; t < ids.length; t++) {
            for (int v = 0; v < config.vocabSize(); v++) {
                assertThat(torch[t][v])
                        .isCloseTo(expected[t][v], org.assertj.core.data.Offset.offset(1e-9));
            }
        }
    }
}
