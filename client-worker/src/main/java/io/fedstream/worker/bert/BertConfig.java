package io.fedstream.worker.bert;

import static io.fedstream.worker.weights.HfConfigJson.required;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fedstream.worker.weights.HfConfigJson;
import java.util.Set;

/**
 * The architecture of a BERT encoder (Devlin et al. 2019) as Hugging Face's {@code BertModel}
 * defines it: absolute position embeddings, post-LayerNorm residual blocks and an erf-GELU
 * feed-forward layer.
 *
 * @param vocabSize word-piece vocabulary size
 * @param hiddenSize width of the residual stream
 * @param numLayers number of transformer layers
 * @param numHeads attention heads per layer ({@code hiddenSize} must be a multiple)
 * @param intermediateSize width of the feed-forward layer
 * @param maxPositions number of position embeddings (longest sequence)
 * @param typeVocabSize number of token types (segments)
 * @param layerNormEps epsilon of every LayerNorm
 */
public record BertConfig(
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int intermediateSize,
        int maxPositions,
        int typeVocabSize,
        double layerNormEps) {

    /** sentence-transformers/all-MiniLM-L6-v2. */
    public static final BertConfig MINILM_L6 =
            new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12);

    // activations that are the exact (erf) GELU in transformers
    private static final Set<String> ERF_GELU = Set.of("gelu", "gelu_python");

    public BertConfig {
        if (vocabSize <= 0
                || hiddenSize <= 0
                || numLayers <= 0
                || numHeads <= 0
                || intermediateSize <= 0
                || maxPositions <= 0
                || typeVocabSize <= 0) {
            throw new IllegalArgumentException("BERT dimensions must be positive");
        }
        if (hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException(
                    "hidden size " + hiddenSize + " is not a multiple of " + numHeads + " heads");
        }
        if (!(layerNormEps > 0)) {
            throw new IllegalArgumentException("layer-norm epsilon must be positive");
        }
    }

    /** Width of one attention head. */
    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Number of weights of the encoder (embeddings and layers, no pooler). */
    public long parameterCount() {
        long h = hiddenSize;
        long embeddings = (long) (vocabSize + maxPositions + typeVocabSize) * h + 2 * h;
        long attention = 4 * (h * h + h) + 2 * h;
        long ffn = 2 * h * intermediateSize + intermediateSize + h + 2 * h;
        return embeddings + numLayers * (attention + ffn);
    }

    /**
     * Reads a Hugging Face {@code config.json}. Only BERT-type models with absolute positions and
     * the exact GELU are accepted; anything else would silently compute something different.
     */
    public static BertConfig fromHfJson(String json) {
        JsonNode root = HfConfigJson.read(json);
        String modelType = root.path("model_type").asText("bert");
        if (!modelType.equals("bert")) {
            throw new IllegalArgumentException("not a BERT model: model_type " + modelType);
        }
        String act = root.path("hidden_act").asText("gelu");
        if (!ERF_GELU.contains(act)) {
            throw new IllegalArgumentException("unsupported hidden_act " + act + " (need gelu)");
        }
        String positions = root.path("position_embedding_type").asText("absolute");
        if (!positions.equals("absolute")) {
            throw new IllegalArgumentException("unsupported position_embedding_type " + positions);
        }
        return new BertConfig(
                required(root, "vocab_size"),
                required(root, "hidden_size"),
                required(root, "num_hidden_layers"),
                required(root, "num_attention_heads"),
                required(root, "intermediate_size"),
                root.path("max_position_embeddings").asInt(512),
                root.path("type_vocab_size").asInt(2),
                root.path("layer_norm_eps").asDouble(1e-12));
    }

    /** This configuration as a Hugging Face {@code config.json} for {@code BertModel}. */
    public String toHfJson() {
        ObjectNode root = HfConfigJson.newObject();
        root.putArray("architectures").add("BertModel");
        root.put("model_type", "bert");
        root.put("vocab_size", vocabSize);
        root.put("hidden_size", hiddenSize);
        root.put("num_hidden_layers", numLayers);
        root.put("num_attention_heads", numHeads);
        root.put("intermediate_size", intermediateSize);
        root.put("max_position_embeddings", maxPositions);
        root.put("type_vocab_size", typeVocabSize);
        root.put("layer_norm_eps", layerNormEps);
        root.put("hidden_act", "gelu");
        root.put("position_embedding_type", "absolute");
        root.put("pad_token_id", 0);
        return HfConfigJson.write(root);
    }
}
