package io.fedstream.worker.decoder;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fedstream.worker.djl.DjlRuntime;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.weights.HfFiles;
import io.fedstream.worker.weights.SafeTensors;
import io.fedstream.worker.weights.StoredTensor;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A local Hugging Face causal LM directory (GPT-2 or Llama family): {@code config.json}, the
 * weights in {@code model.safetensors} or in shards listed by {@code model.safetensors.index.json}
 * and {@code tokenizer.json}. Loading reads the headers only: each tensor is copied into libtorch
 * when the model is built ({@link StoredTensor}), in the file's precision for matrices, so the
 * shards are streamed and never held in Java memory. Read from disk only; nothing is downloaded. No
 * pretrained causal LM ships with FedStream: point {@link #load} at a directory such as a {@code
 * huggingface-cli download} or {@code save_pretrained} output (PyTorch {@code .bin} checkpoints
 * must be converted to safetensors first).
 */
public record DecoderCheckpoint(Path directory, DecoderConfig config, DecoderWeights weights) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public DecoderCheckpoint {
        weights.validate(config);
    }

    /** Loads {@code directory}; the weights are checked against the configuration. */
    public static DecoderCheckpoint load(Path directory) throws IOException {
        String configJson = HfFiles.readConfig(directory);
        DecoderConfig config;
        try {
            config = DecoderConfig.fromHfJson(configJson);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    directory.resolve(HfFiles.CONFIG) + ": " + e.getMessage(), e);
        }
        DecoderWeights weights = DecoderWeights.of(storedTensors(directory));
        return new DecoderCheckpoint(directory, config, weights);
    }

    /**
     * The tensors of a checkpoint directory, located but not read ({@link StoredTensor}): {@code
     * model.safetensors}, or every shard {@code model.safetensors.index.json} names (each must
     * exist inside the directory and hold the tensors the index assigns to it).
     */
    static Map<String, StoredTensor> storedTensors(Path directory) throws IOException {
        Map<String, StoredTensor> tensors = new LinkedHashMap<>();
        Path single = directory.resolve(HfFiles.WEIGHTS);
        Path index = directory.resolve(HfFiles.WEIGHTS_INDEX);
        if (Files.isRegularFile(single)) {
            return StoredTensor.index(single);
        }
        if (!Files.isRegularFile(index)) {
            throw HfFiles.noWeights(directory);
        }
        JsonNode map = JSON.readTree(index.toFile()).get("weight_map");
        if (map == null || !map.isObject()) {
            throw new IOException(index + " has no weight_map object");
        }
        Map<String, List<String>> byShard = new LinkedHashMap<>();
        map.fields()
                .forEachRemaining(
                        f ->
                                byShard.computeIfAbsent(
                                                f.getValue().asText(), k -> new ArrayList<>())
                                        .add(f.getKey()));
        for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
            String shard = e.getKey();
            Path file = HfFiles.shardFile(directory, shard, index);
            if (!Files.isRegularFile(file)) {
                throw new FileNotFoundException(
                        index
                                + " names shard "
                                + shard
                                + " (for "
                                + e.getValue().get(0)
                                + "), but "
                                + file
                                + " does not exist");
            }
            Map<String, StoredTensor> inShard = StoredTensor.index(file);
            for (String name : e.getValue()) {
                if (!inShard.containsKey(name)) {
                    throw new IOException(
                            index + " puts tensor " + name + " in " + shard + ", which lacks it");
                }
            }
            for (Map.Entry<String, StoredTensor> t : inShard.entrySet()) {
                if (tensors.put(t.getKey(), t.getValue()) != null) {
                    throw new IOException("tensor " + t.getKey() + " is in two shards");
                }
            }
        }
        return tensors;
    }

    /**
     * Checks that {@code directory} has a {@code tokenizer.json} before anything heavy is loaded.
     *
     * @throws FileNotFoundException naming the missing file
     */
    public static void requireTokenizer(Path directory) throws FileNotFoundException {
        Path file = directory.resolve(HfFiles.TOKENIZER);
        if (!Files.isRegularFile(file)) {
            throw new FileNotFoundException(
                    file + " does not exist (the decoder's tokenizer is needed)");
        }
    }

    /**
     * Writes {@code config.json}, the weights in {@code shards} files {@code
     * model-0000i-of-0000n.safetensors} (consecutive tensors in {@link
     * DecoderWeights#expectedShapes} order, about equal counts) and {@code
     * model.safetensors.index.json}, as {@code save_pretrained} shards a large model.
     */
    public static void writeSharded(
            Path directory,
            DecoderConfig config,
            DecoderWeights weights,
            SafeTensors.DType dtype,
            int shards)
            throws IOException {
        Files.writeString(directory.resolve(HfFiles.CONFIG), config.toHfJson());
        Map<String, FloatTensor> all = weights.modelTensors(config);
        List<String> names = new ArrayList<>(all.keySet());
        ObjectNode root = JSON.createObjectNode();
        ObjectNode weightMap = JSON.createObjectNode();
        long total = 0;
        for (int s = 0; s < shards; s++) {
            String file = String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            Map<String, FloatTensor> part = new LinkedHashMap<>();
            for (int i = s * names.size() / shards; i < (s + 1) * names.size() / shards; i++) {
                part.put(names.get(i), all.get(names.get(i)));
                weightMap.put(names.get(i), file);
                total += (long) all.get(names.get(i)).size() * dtype.bytes();
            }
            SafeTensors.write(directory.resolve(file), part, dtype, Map.of("format", "pt"));
        }
        root.putObject("metadata").put("total_size", total);
        root.set("weight_map", weightMap);
        Files.writeString(directory.resolve(HfFiles.WEIGHTS_INDEX), root.toString());
    }

    /**
     * Writes {@code config.json} and {@code model.safetensors} (the tensors {@code config} reads,
     * under their Hugging Face names) into {@code directory}, which must exist.
     */
    public static void write(
            Path directory, DecoderConfig config, DecoderWeights weights, SafeTensors.DType dtype)
            throws IOException {
        HfFiles.write(directory, config.toHfJson(), weights.modelTensors(config), dtype);
    }

    public boolean hasTokenizer() {
        return HfFiles.hasTokenizer(directory);
    }

    /**
     * The checkpoint's tokenizer, adding no special tokens (the caller places BOS and EOS, see
     * {@link CausalBatch}), neither truncating nor padding.
     */
    public HuggingFaceTokenizer tokenizer() throws IOException {
        return tokenizer(false);
    }

    /**
     * The checkpoint's tokenizer, neither truncating nor padding; with {@code addSpecialTokens} it
     * adds what the {@code tokenizer.json} post-processor adds (Llama 3: {@code <|begin_of_text|>};
     * Qwen2, GPT-2: nothing), i.e. encodes as {@code tokenizer(text)} does.
     */
    public HuggingFaceTokenizer tokenizer(boolean addSpecialTokens) throws IOException {
        requireTokenizer(directory);
        DjlRuntime.configure();
        return HuggingFaceTokenizer.newInstance(
                directory.resolve(HfFiles.TOKENIZER),
                Map.of(
                        "addSpecialTokens", Boolean.toString(addSpecialTokens),
                        "padding", "false",
                        "truncation", "false"));
    }
}
