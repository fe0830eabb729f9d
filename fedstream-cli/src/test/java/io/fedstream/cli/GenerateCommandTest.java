package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.decoder.CausalLm;
import io.fedstream.worker.decoder.CausalLmSiteTrainer;
import io.fedstream.worker.decoder.ChatTemplate;
import io.fedstream.worker.decoder.DecoderCheckpoint;
import io.fedstream.worker.decoder.DecoderConfig;
import io.fedstream.worker.decoder.DecoderLora;
import io.fedstream.worker.decoder.DecoderWeights;
import io.fedstream.worker.decoder.GreedyDecoding;
import io.fedstream.worker.decoder.LoraCausalLm;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code generate}, {@code spec} and {@code worker} on a Llama-3-style and a Qwen2-style directory
 * (tiny random weights, word-level tokenizers with the families' special tokens).
 */
class GenerateCommandTest {
    private static final List<String> WORDS =
            List.of(
                    "<unk>",
                    "<|begin_of_text|>",
                    "<|end_of_text|>",
                    "<|start_header_id|>",
                    "<|end_header_id|>",
                    "<|eot_id|>",
                    "<|im_start|>",
                    "<|im_end|>",
                    "user",
                    "assistant",
                    "system",
                    "what",
                    "is",
                    "flu",
                    "a",
                    "virus",
                    "cold",
                    "?",
                    "you",
                    "are",
                    "helpful");
    private static final String LLAMA3 =
            "{\"architectures\":[\"LlamaForCausalLM\"],\"bos_token_id\":1,\"eos_token_id\":[2,5],"
                    + "\"hidden_act\":\"silu\",\"hidden_size\":16,\"intermediate_size\":24,"
                    + "\"max_position_embeddings\":64,\"model_type\":\"llama\","
                    + "\"num_attention_heads\":4,\"num_hidden_layers\":2,\"num_key_value_heads\":2,"
                    + "\"rms_norm_eps\":1e-05,\"rope_scaling\":{\"factor\":32.0,"
                    + "\"high_freq_factor\":4.0,\"low_freq_factor\":1.0,"
                    + "\"original_max_position_embeddings\":32,\"rope_type\":\"llama3\"},"
                    + "\"rope_theta\":500000.0,\"tie_word_embeddings\":true,\"vocab_size\":24}";
    static final String QWEN2 =
            "{\"architectures\":[\"Qwen2ForCausalLM\"],\"bos_token_id\":2,\"eos_token_id\":7,"
                    + "\"hidden_act\":\"silu\",\"hidden_size\":16,\"intermediate_size\":24,"
                    + "\"max_position_embeddings\":64,\"model_type\":\"qwen2\","
                    + "\"num_attention_heads\":4,\"num_hidden_layers\":2,\"num_key_value_heads\":2,"
                    + "\"rms_norm_eps\":1e-06,\"rope_theta\":1000000.0,\"sliding_window\":64,"
                    + "\"tie_word_embeddings\":true,\"use_sliding_window\":false,\"vocab_size\":24}";

    /** A ChatML template with a system turn (what Qwen2's tokenizer_config.json holds). */
    static final String CHATML =
            "{{ '<|im_start|>system\\nyou are helpful<|im_end|>\\n' }}{% for m in"
                    + " messages %}{{ '<|im_start|>' + m.role }}{% endfor %}";

    @TempDir Path dir;

    private Path checkpoint(String name, String configJson, String template) throws Exception {
        return checkpoint(dir, name, configJson, template);
    }

    /**
     * A checkpoint directory {@code dir/name} with random BF16 weights, a word-level tokenizer of
     * {@link #WORDS} and {@code template} as its chat template.
     */
    static Path checkpoint(Path dir, String name, String configJson, String template)
            throws Exception {
        DecoderConfig config = DecoderConfig.fromHfJson(configJson);
        SplittableRandom rnd = new SplittableRandom(name.hashCode());
        Map<String, FloatTensor> tensors = new LinkedHashMap<>();
        DecoderWeights.expectedShapes(config)
                .forEach(
                        (n, shape) -> {
                            int size = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
                            float[] v = new float[size];
                            for (int i = 0; i < size; i++) {
                                v[i] =
                                        (float)
                                                ((shape.length == 1 && !n.endsWith("bias") ? 1 : 0)
                                                        + 0.8 * (rnd.nextDouble() - 0.5));
                            }
                            tensors.put(n, new FloatTensor(shape, v));
                        });
        Path model = Files.createDirectories(dir.resolve(name));
        DecoderCheckpoint.write(model, config, DecoderWeights.of(tensors), SafeTensors.DType.BF16);
        Files.writeString(model.resolve("config.json"), configJson);
        StringBuilder vocab = new StringBuilder();
        StringBuilder added = new StringBuilder();
        for (int i = 0; i < WORDS.size(); i++) {
            vocab.append(i == 0 ? "" : ",")
                    .append('"')
                    .append(WORDS.get(i))
                    .append("\":")
                    .append(i);
            if (WORDS.get(i).startsWith("<|")) {
                added.append(added.length() == 0 ? "" : ",")
                        .append("{\"id\":")
                        .append(i)
                        .append(",\"content\":\"")
                        .append(WORDS.get(i))
                        .append("\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,")
                        .append("\"normalized\":false,\"special\":true}");
            }
        }
        Files.writeString(
                model.resolve("tokenizer.json"),
                "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":["
                        + added
                        + "],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Whitespace\"},"
                        + "\"post_processor\":null,\"decoder\":null,\"model\":{\"type\":"
                        + "\"WordLevel\",\"vocab\":{"
                        + vocab
                        + "},\"unk_token\":\"<unk>\"}}");
        Files.writeString(
                model.resolve("tokenizer_config.json"),
                "{\"chat_template\":"
                        + new com.fasterxml.jackson.databind.ObjectMapper()
                                .writeValueAsString(template)
                        + "}");
        return model;
    }

    record Run(int code, String out, String err) {}

    static Run run(Object command, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = System.out;
        PrintStream e = System.err;
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = new CommandLine(command).execute(args);
        } finally {
            System.setOut(o);
            System.setErr(e);
        }
        return new Run(
                code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * {@code generate --decoder model SOURCE --chat --prompt "what is a cold ?"} with {@code
     * source} the adapter's arguments ({@code --adapter FILE}, {@code --version N ...}).
     */
    static Run askAboutACold(Path model, int maxNewTokens, String... source) {
        List<String> args = new java.util.ArrayList<>(List.of("--decoder", model.toString()));
        args.addAll(List.of(source));
        args.addAll(
                List.of(
                        "--chat",
                        "--prompt",
                        "what is a cold ?",
                        "--max-new-tokens",
                        Integer.toString(maxNewTokens)));
        return run(new GenerateCommand(), args.toArray(String[]::new));
    }

    static long[] idsLine(String out) {
        String line =
                out.lines()
                        .filter(l -> l.startsWith("ids:"))
                        .findFirst()
                        .orElseThrow()
                        .substring(4);
        return line.isBlank()
                ? new long[0]
                : Arrays.stream(line.strip().split(" ")).mapToLong(Long::parseLong).toArray();
    }

    /** Every adapter tensor of {@code lora} on {@code config}, uniform in [-0.5, 0.5). */
    static Map<String, FloatTensor> randomAdapter(
            DecoderConfig config, DecoderLora lora, long seed) {
        Map<String, FloatTensor> adapter = new LinkedHashMap<>();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (var spec : CausalLm.adapterTensors(config, lora)) {
            float[] v = new float[Math.toIntExact(spec.size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rnd.nextDouble() - 0.5);
            }
            adapter.put(spec.name(), new FloatTensor(spec.shape(), v));
        }
        return adapter;
    }

    @Test
    void generateRunsOnALlama3StyleDirectoryAsTheLibraryDoes() throws Exception {
        Path model =
                checkpoint(
                        "llama3",
                        LLAMA3,
                        "{{ '<|start_header_id|>' + role + '<|end_header_id|>' }}");

        Run r =
                run(
                        new GenerateCommand(),
                        "--decoder",
                        model.toString(),
                        "--prompt",
                        "what is flu ?",
                        "--max-new-tokens",
                        "8");

        assertThat(r.code()).as(r.err()).isZero();
        DecoderCheckpoint cp = DecoderCheckpoint.load(model);
        try (LoraCausalLm lm =
                        new LoraCausalLm(CausalLm.fromCheckpoint(cp, DecoderLora.none()), 0);
                HuggingFaceTokenizer t = cp.tokenizer(true)) {
            long[] prompt = t.encode("what is flu ?").getIds();
            long[] expected = lm.generate(prompt, 8);
            assertThat(idsLine(r.out())).containsExactly(expected);
            assertThat(r.out().lines().toList().get(1)).isEqualTo(t.decode(expected, true));
            assertThat(expected).doesNotContain(2L, 5L); // EOS ids end generation, unprinted
        }
    }

    @Test
    void generateWithAnAdapterFileInQwensChatTemplate() throws Exception {
        Path model = checkpoint("qwen2", QWEN2, CHATML);
        DecoderLora lora =
                DecoderLora.of(2, 16, 0, DecoderLora.Module.Q_PROJ, DecoderLora.Module.V_PROJ);
        DecoderCheckpoint cp = DecoderCheckpoint.load(model);
        Map<String, FloatTensor> adapter = randomAdapter(cp.config(), lora, 3);
        Path file = dir.resolve("adapter.safetensors");
        SafeTensors.write(file, adapter);

        Run r = askAboutACold(model, 6, "--adapter", file.toString());

        assertThat(r.code()).as(r.err()).isZero();
        try (LoraCausalLm lm = new LoraCausalLm(CausalLm.fromCheckpoint(cp, lora), 0);
                HuggingFaceTokenizer t = cp.tokenizer(false)) {
            lm.setAdapter(
                    adapter.entrySet().stream()
                            .collect(
                                    Collectors.toMap(
                                            Map.Entry::getKey,
                                            e -> e.getValue().data(),
                                            (a, b) -> a,
                                            LinkedHashMap::new)));
            ChatTemplate template = ChatTemplate.of(model, cp.config());
            long[] prompt = template.prompt(t, "what is a cold ?");
            assertThat(t.decode(prompt, false))
                    .isEqualTo(
                            "<|im_start|> system you are helpful <|im_end|> <|im_start|> user what"
                                    + " is a cold ? <|im_end|> <|im_start|> assistant");
            long[] expected = GreedyDecoding.generate(lm, prompt, 6, g -> g[g.length - 1] == 7);
            if (expected.length > 0 && expected[expected.length - 1] == 7) {
                expected = Arrays.copyOf(expected, expected.length - 1);
            }
            assertThat(idsLine(r.out())).containsExactly(expected);
        }
    }

    @Test
    void specRefusesAnUnknownRopeTypeByNameAndGenerateABadArgumentInOneLine() throws Exception {
        Path model = checkpoint("yarn", LLAMA3, "");
        Files.writeString(model.resolve("config.json"), LLAMA3.replace("\"llama3\"", "\"yarn\""));

        Run spec = run(new SpecCommand(), "--decoder", model.toString());
        Run gen = run(new GenerateCommand(), "--decoder", model.toString(), "--prompt", "what");
        Files.delete(model.resolve("tokenizer.json"));
        Run noTokenizer =
                run(new GenerateCommand(), "--decoder", model.toString(), "--prompt", "what");

        assertThat(spec.code()).isNotZero();
        assertThat(spec.err()).contains("config.json: rope_scaling type 'yarn' is not supported");
        assertThat(gen.code()).isEqualTo(2);
        assertThat(gen.err().strip().lines()).hasSize(1);
        assertThat(gen.err()).contains("rope_scaling type 'yarn'");
        assertThat(noTokenizer.err().strip())
                .isEqualTo(
                        "generate: "
                                + model.resolve("tokenizer.json")
                                + " does not exist (the decoder's tokenizer is needed)");
    }

    @Test
    void theWorkerTrainsQwenInItsChatTemplate() throws Exception {
        Path model = checkpoint("qwen2w", QWEN2, "{{ '<|im_start|>' + m.role + '<|im_end|>' }}");
        Path data = dir.resolve("site.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            lines.append(
                    "{\"instruction\":\"what is flu ?\",\"input\":\"\",\"output\":\"a virus\"}\n");
        }
        Files.writeString(data, lines);
        WorkerCommand command = new WorkerCommand();
        new CommandLine(command)
                .parseArgs(
                        "--bootstrap", "unused:9092",
                        "--site-index", "0",
                        "--decoder", model.toString(),
                        "--data", data.toString(),
                        "--eval-fraction", "0",
                        "--lora-rank", "2",
                        "--lora-targets", "q,k,v,o,gate,up,down",
                        "--batch-size", "2");

        try (SiteTrainer trainer = command.trainer(null)) {
            FederationSpec spec = trainer.federationSpec("demo", 42);
            SiteTrainer.TrainResult result = trainer.train(spec.initialValues(), 0);

            assertThat(spec.tensors()).hasSize(2 * 7 * 2);
            // 6 rows of [<|im_start|> user what is flu ? <|im_end|> <|im_start|> assistant]
            // + [a virus <|im_end|>]: 3 answer tokens each
            assertThat(result.metrics().get(CausalLmSiteTrainer.ANSWER_TOKENS)).isEqualTo(18.0);
            assertThat(result.metrics().get(CausalLmSiteTrainer.TRAIN_LOSS)).isFinite();
        }
    }
}
