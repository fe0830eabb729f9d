package io.fedstream.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Locale;

/**
 * The architecture of a causal (decoder-only) language model as Hugging Face's {@code
 * GPT2LMHeadModel} or {@code LlamaForCausalLM} define it.
 *
 * <ul>
 *   <li>{@link Family#GPT2}: learned absolute positions, pre-LayerNorm blocks with biases, fused
 *       {@code c_attn} Conv1D projections, a GELU MLP ({@code gelu_new}, the tanh approximation, or
 *       the exact erf {@code gelu}), LM head tied to the token embeddings by default.
 *   <li>{@link Family#LLAMA}: rotary position embeddings (RoPE, the {@code rotate_half} layout of
 *       Hugging Face checkpoints), RMSNorm, SwiGLU MLP ({@code down(silu(gate x) * up x)}), no
 *       biases (unless {@code attention_bias}), grouped-query attention when {@code
 *       num_key_value_heads < num_attention_heads}, untied LM head by default.
 * </ul>
 *
 * @param family the architecture
 * @param vocabSize vocabulary size
 * @param hiddenSize width of the residual stream
 * @param numLayers number of transformer blocks
 * @param numHeads query heads per block ({@code hiddenSize} must be a multiple)
 * @param numKvHeads key/value heads ({@code numHeads} must be a multiple; equal for GPT-2)
 * @param intermediateSize width of the MLP
 * @param maxPositions longest sequence (GPT-2: number of position embeddings)
 * @param normEps epsilon of every LayerNorm / RMSNorm
 * @param ropeTheta RoPE base (Llama; ignored for GPT-2)
 * @param exactGelu GPT-2 only: erf GELU instead of the tanh approximation
 * @param attentionBias Llama only: q/k/v/o projections have biases
 * @param tieWordEmbeddings the LM head is the token embedding matrix
 * @param bosTokenId beginning-of-sequence token, -1 if none
 * @param eosTokenId end-of-sequence token, -1 if none
 */
public record DecoderConfig(
        Family family,
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int intermediateSize,
        int maxPositions,
        double normEps,
        double ropeTheta,
        boolean exactGelu,
        boolean attentionBias,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId) {

    /** Supported decoder families, by Hugging Face {@code model_type}. */
    public enum Family {
        GPT2("gpt2"),
        LLAMA("llama");

        private final String modelType;

        Family(String modelType) {
            this.modelType = modelType;
        }

        public String modelType() {
            return modelType;
        }
    }

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public DecoderConfig {
        if (family == null) {
            throw new IllegalArgumentException("a decoder family is needed");
        }
        if (vocabSize <= 0
                || hiddenSize <= 0
                || numLayers <= 0
                || numHeads <= 0
                || numKvHeads <= 0
                || intermediateSize <= 0
                || maxPositions <= 0) {
            throw new IllegalArgumentException("decoder dimensions must be positive");
        }
        if (hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException(
                    "hidden size " + hiddenSize + " is not a multiple of " + numHeads + " heads");
        }
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException(
                    numHeads + " query heads are not a multiple of " + numKvHeads + " kv heads");
        }
        if (family == Family.GPT2 && numKvHeads != numHeads) {
            throw new IllegalArgumentException("GPT-2 has no grouped-query attention");
        }
        if (family == Family.LLAMA && (hiddenSize / numHeads) % 2 != 0) {
            throw new IllegalArgumentException("RoPE needs an even head dimension");
        }
        if (!(normEps > 0) || !(ropeTheta > 0)) {
            throw new IllegalArgumentException("norm epsilon and RoPE theta must be positive");
        }
        if (bosTokenId >= vocabSize || eosTokenId >= vocabSize) {
            throw new IllegalArgumentException("special token ids outside the vocabulary");
        }
    }

    /** A GPT-2 configuration with Hugging Face's defaults (MLP 4 × hidden, tied head). */
    public static DecoderConfig gpt2(
            int vocabSize, int hiddenSize, int numLayers, int numHeads, int maxPositions) {
        return new DecoderConfig(
                Family.GPT2,
                vocabSize,
                hiddenSize,
                numLayers,
                numHeads,
                numHeads,
                4 * hiddenSize,
                maxPositions,
                1e-5,
                10000,
                false,
                false,
                true,
                vocabSize - 1,
                vocabSize - 1);
    }

    /** A Llama configuration (RMSNorm eps 1e-6, RoPE theta 10000, untied head, BOS 1, EOS 2). */
    public static DecoderConfig llama(
            int vocabSize,
            int hiddenSize,
            int numLayers,
            int numHeads,
            int numKvHeads,
            int intermediateSize,
            int maxPositions) {
        return new DecoderConfig(
                Family.LLAMA,
                vocabSize,
                hiddenSize,
                numLayers,
                numHeads,
                numKvHeads,
                intermediateSize,
                maxPositions,
                1e-6,
                10000,
                false,
                false,
                false,
                1,
                2);
    }

    /** Width of one attention head. */
    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Query heads sharing one key/value head. */
    public int groups() {
        return numHeads / numKvHeads;
    }

    public boolean hasBos() {
        return bosTokenId >= 0;
    }

    public boolean hasEos() {
        return eosTokenId >= 0;
    }

    public DecoderConfig withTiedEmbeddings(boolean tied) {
        return new DecoderConfig(
                family,
                vocabSize,
                hiddenSize,
                numLayers,
                numHeads,
                numKvHeads,
                intermediateSize,
                maxPositions,
                normEps,
                ropeTheta,
                exactGelu,
                attentionBias,
                tied,
                bosTokenId,
                eosTokenId);
    }

    /**
     * Reads a Hugging Face {@code config.json} of a GPT-2 or Llama model. Settings this
     * implementation does not compute (RoPE scaling, a head dimension other than hidden / heads,
     * per-layer attention scaling, other activations) are refused rather than silently ignored.
     */
    public static DecoderConfig fromHfJson(String json) {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON config: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("config.json is not a JSON object");
        }
        String modelType = root.path("model_type").asText("").toLowerCase(Locale.ROOT);
        return switch (modelType) {
            case "gpt2" -> gpt2FromJson(root);
            case "llama" -> llamaFromJson(root);
            default ->
                    throw new IllegalArgumentException(
                            "not a supported causal LM: model_type '"
                                    + modelType
                                    + "' (gpt2 or llama)");
        };
    }

    private static DecoderConfig gpt2FromJson(JsonNode root) {
        String act = root.path("activation_function").asText("gelu_new");
        boolean exact =
                switch (act) {
                    case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> false;
                    case "gelu" -> true;
                    default ->
                            throw new IllegalArgumentException(
                                    "unsupported activation_function " + act);
                };
        if (root.path("scale_attn_by_inverse_layer_idx").asBoolean(false)) {
            throw new IllegalArgumentException("scale_attn_by_inverse_layer_idx is not supported");
        }
        if (!root.path("scale_attn_weights").asBoolean(true)) {
            throw new IllegalArgumentException("scale_attn_weights=false is not supported");
        }
        int hidden = required(root, "n_embd");
        JsonNode inner = root.get("n_inner");
        int intermediate = inner == null || inner.isNull() ? 4 * hidden : inner.asInt();
        int heads = required(root, "n_head");
        int vocab = required(root, "vocab_size");
        return new DecoderConfig(
                Family.GPT2,
                vocab,
                hidden,
                required(root, "n_layer"),
                heads,
                heads,
                intermediate,
                root.path("n_positions").asInt(1024),
                root.path("layer_norm_epsilon").asDouble(1e-5),
                10000,
                exact,
                false,
                root.path("tie_word_embeddings").asBoolean(true),
                tokenId(root, "bos_token_id", vocab - 1),
                tokenId(root, "eos_token_id", vocab - 1));
    }

    private static DecoderConfig llamaFromJson(JsonNode root) {
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new IllegalArgumentException("unsupported hidden_act " + act + " (need silu)");
        }
        JsonNode scaling = root.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            throw new IllegalArgumentException("rope_scaling is not supported: " + scaling);
        }
        if (root.path("mlp_bias").asBoolean(false)) {
            throw new IllegalArgumentException("mlp_bias is not supported");
        }
        int hidden = required(root, "hidden_size");
        int heads = required(root, "num_attention_heads");
        JsonNode headDim = root.get("head_dim");
        if (headDim != null && !headDim.isNull() && headDim.asInt() * heads != hidden) {
            throw new IllegalArgumentException(
                    "head_dim " + headDim.asInt() + " other than hidden / heads is not supported");
        }
        JsonNode kv = root.get("num_key_value_heads");
        int vocab = required(root, "vocab_size");
        return new DecoderConfig(
                Family.LLAMA,
                vocab,
                hidden,
                required(root, "num_hidden_layers"),
                heads,
                kv == null || kv.isNull() ? heads : kv.asInt(),
                required(root, "intermediate_size"),
                root.path("max_position_embeddings").asInt(2048),
                root.path("rms_norm_eps").asDouble(1e-6),
                root.path("rope_theta").asDouble(10000),
                false,
                root.path("attention_bias").asBoolean(false),
                root.path("tie_word_embeddings").asBoolean(false),
                tokenId(root, "bos_token_id", -1),
                tokenId(root, "eos_token_id", -1));
    }

    /** This configuration as a Hugging Face {@code config.json}. */
    public String toHfJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("model_type", family.modelType());
        root.put("vocab_size", vocabSize);
        root.put("tie_word_embeddings", tieWordEmbeddings);
        if (hasBos()) {
            root.put("bos_token_id", bosTokenId);
        }
        if (hasEos()) {
            root.put("eos_token_id", eosTokenId);
        }
        if (family == Family.GPT2) {
            root.putArray("architectures").add("GPT2LMHeadModel");
            root.put("n_embd", hiddenSize);
            root.put("n_layer", numLayers);
            root.put("n_head", numHeads);
            root.put("n_inner", intermediateSize);
            root.put("n_positions", maxPositions);
            root.put("layer_norm_epsilon", normEps);
            root.put("activation_function", exactGelu ? "gelu" : "gelu_new");
        } else {
            root.putArray("architectures").add("LlamaForCausalLM");
            root.put("hidden_size", hiddenSize);
            root.put("num_hidden_layers", numLayers);
            root.put("num_attention_heads", numHeads);
            root.put("num_key_value_heads", numKvHeads);
            root.put("intermediate_size", intermediateSize);
            root.put("max_position_embeddings", maxPositions);
            root.put("rms_norm_eps", normEps);
            root.put("rope_theta", ropeTheta);
            root.put("hidden_act", "silu");
            root.put("attention_bias", attentionBias);
        }
        try {
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int required(JsonNode root, String key) {
        JsonNode v = root.get(key);
        if (v == null || !v.canConvertToInt()) {
            throw new IllegalArgumentException("config.json lacks integer " + key);
        }
        return v.asInt();
    }

    // an id, the first of a list (Llama 3 lists several EOS ids), or the default
    private static int tokenId(JsonNode root, String key, int fallback) {
        JsonNode v = root.get(key);
        if (v == null) {
            return fallback;
        }
        if (v.isNull()) {
            return -1;
        }
        if (v.isArray()) {
            return v.isEmpty() ? -1 : v.get(0).asInt();
        }
        return v.asInt();
    }
}
