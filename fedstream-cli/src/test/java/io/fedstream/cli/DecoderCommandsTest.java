package io.fedstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.SiteTrainer;
import io.fedstream.worker.decoder.CausalLmSiteTrainer;
import io.fedstream.worker.decoder.DecoderCheckpoint;
import io.fedstream.worker.decoder.DecoderConfig;
import io.fedstream.worker.decoder.DecoderWeights;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.SafeTensors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code spec --decoder} and {@code worker --decoder}: a local Hugging Face causal LM (a tiny Llama
 * checkpoint written here) as the federation's model.
 */
class DecoderCommandsTest {
    private static final DecoderConfig CONFIG = DecoderConfig.llama(16, 8, 2, 2, 1, 12, 64);

    @TempDir Path dir;

    /** A site's instruction data: ten questions about flu and colds, all answered "a virus". */
    private Path siteData() throws Exception {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            String q = i % 2 == 0 ? "what is flu" : "what is a cold";
            lines.append("{\"instruction\":\"")
                    .append(q)
                    .append("\",\"input\":\"\",\"output\":\"a virus\"}\n");
        }
        return Files.writeString(dir.resolve("site.jsonl"), lines);
    }

    /**
     * A {@code worker} command training {@code model} on {@code data}, with {@code more} options.
     */
    private static WorkerCommand decoderWorker(Path model, Path data, String... more) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "--bootstrap",
                                "unused:9092",
                                "--site-index",
                                "0",
                                "--decoder",
                                model.toString(),
                                "--data",
                                data.toString()));
        args.addAll(List.of(more));
        WorkerCommand command = new WorkerCommand();
        new CommandLine(command).parseArgs(args.toArray(String[]::new));
        return command;
    }

    private Path checkpoint() throws Exception {
        SplittableRandom rnd = new SplittableRandom(1);
        Map<String, FloatTensor> tensors = new LinkedHashMap<>();
        DecoderWeights.expectedShapes(CONFIG)
                .forEach(
                        (name, shape) -> {
                            int n = 1;
                            for (int d : shape) {
                                n *= d;
                            }
                            float[] v = new float[n];
                            for (int i = 0; i < n; i++) {
                                v[i] =
                                        (float)
                                                ((shape.length == 1 ? 1 : 0)
                                                        + 0.2 * (rnd.nextDouble() - 0.5));
                            }
                            tensors.put(name, new FloatTensor(shape, v));
                        });
        Path model = Files.createDirectories(dir.resolve("model"));
        DecoderCheckpoint.write(model, CONFIG, DecoderWeights.of(tensors), SafeTensors.DType.BF16);
        // word-level vocabulary: specials, then the words of the data below
        String[] words = {
            "<pad>",
            "<s>",
            "</s>",
            "<unk>",
            "###",
            "Instruction",
            ":",
            "Response",
            "what",
            "is",
            "flu",
            "cold",
            "a",
            "virus"
        };
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < words.length; i++) {
            vocab.append(i == 0 ? "" : ",").append('"').append(words[i]).append("\":").append(i);
        }
        Files.writeString(
                model.resolve("tokenizer.json"),
                "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[],"
                        + "\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Whitespace\"},"
                        + "\"post_processor\":null,\"decoder\":null,\"model\":{\"type\":"
                        + "\"WordLevel\",\"vocab\":{"
                        + vocab
                        + "},\"unk_token\":\"<unk>\"}}");
        return model;
    }

    @Test
    void specWritesTheAdapterLayoutOfTheDecoder() throws Exception {
        Path model = checkpoint();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = System.out;
        int code;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            code =
                    new CommandLine(new SpecCommand())
                            .execute(
                                    "--federation",
                                    "med",
                                    "--decoder",
                                    model.toString(),
                                    "--lora-rank",
                                    "2",
                                    "--lora-targets",
                                    "q,v");
        } finally {
            System.setOut(out);
        }
        String json = buf.toString(StandardCharsets.UTF_8).strip();
        FederationSpec spec = FederationSpec.fromJson(json.substring(1, json.length() - 1));

        assertThat(code).isZero();
        assertThat(spec.id()).isEqualTo("med");
        assertThat(spec.tensors().stream().map(TensorSpec::name))
                .containsExactly(
                        "layer0.q_proj.lora_A",
                        "layer0.q_proj.lora_B",
                        "layer0.v_proj.lora_A",
                        "layer0.v_proj.lora_B",
                        "layer1.q_proj.lora_A",
                        "layer1.q_proj.lora_B",
                        "layer1.v_proj.lora_A",
                        "layer1.v_proj.lora_B");
        // v_proj maps hidden 8 to one kv head of width 4
        assertThat(spec.tensors().get(3).shape()).containsExactly(4, 2);
    }

    @Test
    void theWorkerTrainsTheDecoderOnItsInstructionData() throws Exception {
        Path model = checkpoint();
        Path data = siteData();
        WorkerCommand command =
                decoderWorker(
                        model,
                        data,
                        "--eval-fraction",
                        "0.2",
                        "--lora-rank",
                        "2",
                        "--lora-targets",
                        "q_proj,v_proj,up_proj",
                        "--batch-size",
                        "4",
                        "--lr",
                        "0.01");

        try (SiteTrainer trainer = command.trainer(null)) {
            CausalLmSiteTrainer decoder = (CausalLmSiteTrainer) trainer;
            FederationSpec spec = trainer.federationSpec("demo", 42);
            Map<String, float[]> v0 = spec.initialValues();
            SiteTrainer.EvalResult before = trainer.evaluate(v0);
            SiteTrainer.TrainResult result = trainer.train(v0, 0);

            assertThat(decoder.numTrainExamples()).isEqualTo(8);
            assertThat(decoder.numEvalExamples()).isEqualTo(2);
            assertThat(result.delta().keySet())
                    .containsExactlyElementsOf(
                            spec.tensors().stream().map(TensorSpec::name).toList());
            assertThat(result.metrics().get(CausalLmSiteTrainer.STEPS)).isEqualTo(2.0);
            assertThat(before.loss()).isFinite().isPositive();
            assertThat(List.of(result.metrics().get(CausalLmSiteTrainer.TRAIN_LOSS)))
                    .allMatch(Double::isFinite);
        }
    }

    @Test
    void theWorkerRunsFedPitWithItsPrivateAdapterOnDisk() throws Exception {
        Path model = checkpoint();
        Path data = siteData();
        Path local = dir.resolve("private.safetensors");
        WorkerCommand command =
                decoderWorker(
                        model,
                        data,
                        "--fedpit",
                        "--local-adapter",
                        local.toString(),
                        "--candidates",
                        "2",
                        "--keep",
                        "1",
                        "--lora-rank",
                        "2",
                        "--batch-size",
                        "4");

        try (SiteTrainer trainer = command.trainer(null)) {
            FederationSpec spec = trainer.federationSpec("demo", 42);
            SiteTrainer.TrainResult result = trainer.train(spec.initialValues(), 0);

            assertThat(result.delta().keySet())
                    .containsExactlyElementsOf(
                            spec.tensors().stream().map(TensorSpec::name).toList());
            assertThat(result.metrics()).containsKeys("synthetic_generated", "synthetic_kept");
            assertThat(result.metrics().get("synthetic_generated")).isEqualTo(2.0);
            assertThat(local).isNotEmptyFile(); // the private adapter stays on the site
        }
    }
}
