package io.fedstream.worker.model;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.fedstream.worker.train.DjlRuntime;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * A local Hugging Face causal LM directory (GPT-2 or Llama family): {@code config.json}, the
 * weights in {@code model.safetensors} or in shards listed by {@code model.safetensors.index.json}
 * (F32, F16, BF16 and F64 tensors are widened to float32) and {@code tokenizer.json}. Read from
 * disk only; nothing is downloaded. No pretrained causal LM ships with FedStream: point {@link
 * #load} at a directory such as a {@code huggingface-cli download} or {@code save_pretrained}
 * output (PyTorch {@code .bin} checkpoints must be converted to safetensors first).
 */
public record DecoderCheckpoint(Path directory, DecoderConfig config, DecoderWeights weights) {

    public DecoderCheckpoint {
        weights.validate(config);
    }

    /** Loads {@code directory}; the weights are checked against the configuration. */
    public static DecoderCheckpoint load(Path directory) throws IOException {
        Path configFile = directory.resolve(HfCheckpoint.CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new FileNotFoundException(configFile + " does not exist");
        }
        DecoderConfig config = DecoderConfig.fromHfJson(Files.readString(configFile));
        DecoderWeights weights = DecoderWeights.of(HfCheckpoint.readTensors(directory));
        return new DecoderCheckpoint(directory, config, weights);
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} (the tensors {@code config} reads,
     * under their Hugging Face names) into {@code directory}, which must exist.
     */
    public static void write(
            Path directory, DecoderConfig config, DecoderWeights weights, SafeTensors.DType dtype)
            throws IOException {
        Files.writeString(directory.resolve(HfCheckpoint.CONFIG), config.toHfJson());
        SafeTensors.write(
                directory.resolve(HfCheckpoint.WEIGHTS),
                weights.modelTensors(config),
                dtype,
                Map.of("format", "pt"));
    }

    public boolean hasTokenizer() {
        return Files.isRegularFile(directory.resolve(HfCheckpoint.TOKENIZER));
    }

    /**
     * The checkpoint's tokenizer, adding no special tokens (the caller places BOS and EOS, see
     * {@link CausalBatch}), neither truncating nor padding.
     */
    public HuggingFaceTokenizer tokenizer() throws IOException {
        Path file = directory.resolve(HfCheckpoint.TOKENIZER);
        if (!Files.isRegularFile(file)) {
            throw new FileNotFoundException(file + " does not exist");
        }
        DjlRuntime.configure();
        return HuggingFaceTokenizer.newInstance(
                file,
                Map.of(
                        "addSpecialTokens", "false",
                        "padding", "false",
                        "truncation", "false"));
    }
}
