package io.fedstream.worker.bert;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.HfFiles;
import io.fedstream.worker.weights.SafeTensors;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A local Hugging Face BERT checkpoint directory: {@code config.json}, the weights in {@code
 * model.safetensors} (or shards listed in {@code model.safetensors.index.json}) and optionally
 * {@code tokenizer.json}. Read from disk only; nothing is downloaded.
 */
public record HfCheckpoint(Path directory, BertConfig config, BertWeights weights) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public HfCheckpoint {
        weights.validate(config);
    }

    /** Loads {@code directory}; the weights are checked against the configuration. */
    public static HfCheckpoint load(Path directory) throws IOException {
        Path configFile = directory.resolve(HfFiles.CONFIG);
        if (!Files.isRegularFile(configFile)) {
            throw new FileNotFoundException(configFile + " does not exist");
        }
        BertConfig config = BertConfig.fromHfJson(Files.readString(configFile));
        Map<String, FloatTensor> tensors = readTensors(directory);
        return new HfCheckpoint(directory, config, BertWeights.of(tensors));
    }

    /**
     * The floating tensors of a checkpoint directory: {@code model.safetensors}, or the shards
     * {@code model.safetensors.index.json} lists (each must lie inside the directory).
     */
    static Map<String, FloatTensor> readTensors(Path directory) throws IOException {
        Map<String, FloatTensor> tensors = new LinkedHashMap<>();
        Path single = directory.resolve(HfFiles.WEIGHTS);
        Path index = directory.resolve(HfFiles.WEIGHTS_INDEX);
        if (Files.isRegularFile(single)) {
            tensors.putAll(SafeTensors.read(single));
        } else if (Files.isRegularFile(index)) {
            JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
            Set<String> shards = new LinkedHashSet<>();
            for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
                shards.add(it.next().asText());
            }
            for (String shard : shards) {
                Path file = directory.resolve(shard).normalize();
                if (!file.startsWith(directory.normalize())) {
                    throw new IOException("shard " + shard + " lies outside " + directory);
                }
                tensors.putAll(SafeTensors.read(file));
            }
        } else {
            throw new FileNotFoundException(
                    directory
                            + " has neither "
                            + HfFiles.WEIGHTS
                            + " nor "
                            + HfFiles.WEIGHTS_INDEX
                            + " (only safetensors checkpoints are supported)");
        }
        return tensors;
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} (the encoder tensors only) into
     * {@code directory}, which must exist.
     */
    public static void write(
            Path directory, BertConfig config, BertWeights weights, SafeTensors.DType dtype)
            throws IOException {
        Files.writeString(directory.resolve(HfFiles.CONFIG), config.toHfJson());
        SafeTensors.write(
                directory.resolve(HfFiles.WEIGHTS),
                weights.encoderTensors(config),
                dtype,
                Map.of("format", "pt"));
    }

    public boolean hasTokenizer() {
        return Files.isRegularFile(directory.resolve(HfFiles.TOKENIZER));
    }

    /** The checkpoint's tokenizer, truncating to {@code maxLength} tokens, not padding. */
    public HuggingFaceTokenizer tokenizer(int maxLength) throws IOException {
        try (InputStream in = Files.newInputStream(directory.resolve(HfFiles.TOKENIZER))) {
            return TokenBatch.tokenizer(in, maxLength);
        }
    }
}
