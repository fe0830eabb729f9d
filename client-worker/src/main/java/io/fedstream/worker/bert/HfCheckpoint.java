package io.fedstream.worker.bert;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.HfFiles;
import io.fedstream.worker.weights.SafeTensors;
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
        BertConfig config = BertConfig.fromHfJson(HfFiles.readConfig(directory));
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
                tensors.putAll(SafeTensors.read(HfFiles.shardFile(directory, shard, index)));
            }
        } else {
            throw HfFiles.noWeights(directory);
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
        HfFiles.write(directory, config.toHfJson(), weights.encoderTensors(config), dtype);
    }

    public boolean hasTokenizer() {
        return HfFiles.hasTokenizer(directory);
    }

    /** The checkpoint's tokenizer, truncating to {@code maxLength} tokens, not padding. */
    public HuggingFaceTokenizer tokenizer(int maxLength) throws IOException {
        try (InputStream in = Files.newInputStream(directory.resolve(HfFiles.TOKENIZER))) {
            return TokenBatch.tokenizer(in, maxLength);
        }
    }
}
