package io.fedstream.worker.decoder;

import static io.fedstream.worker.weights.HfConfigJson.required;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fedstream.worker.weights.HfConfigJson;
import java.util.ArrayList;
import java.util.List;
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
 *       Hugging Face checkpoints, optionally scaled: {@link RopeScaling}), RMSNorm, SwiGLU MLP
 *       ({@code down(silu(gate x) * up x)}), no biases (unless {@code attention_bias}),
 *       grouped-query attention when {@code num_key_value_heads < num_attention_heads}, untied LM
 *       head by default. The {@code model_type}s {@code llama} (Llama 2/3.x, SmolLM2), {@code
 *       qwen2} (Qwen2/2.5: biases on q, k and v only) and {@code mistral} (a sliding attention
 *       window) share this architecture and these tensor names.
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
 * @param modelType the Hugging Face {@code model_type}: {@code gpt2}, or for the Llama architecture
 *     {@code llama} (also SmolLM2), {@code qwen2} or {@code mistral}
 * @param ropeScaling the {@code rope_scaling} of the RoPE frequencies (Llama architecture)
 * @param slidingWindow Mistral: keys further back than this many positions are masked (a query sees
 *     itself and the {@code slidingWindow - 1} positions before it); 0 for none
 * @param qkvBias Qwen2: q, k and v projections have biases (o does not)
 * @param eosTokenIds every end-of-sequence id of {@code config.json} (Llama 3 lists several);
 *     generation stops at any of them. Holds {@code eosTokenId} first when it is set.
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
        int eosTokenId,
        String modelType,
        RopeScaling ropeScaling,
        int slidingWindow,
        boolean qkvBias,
        List<Integer> eosTokenIds) {

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

    /** The {@code model_type}s of the Llama architecture. */
    public static final List<String> LLAMA_TYPES = List.of("llama", "qwen2", "mistral");

    /** A configuration of {@code family}'s own model type, without the newer features. */
    public DecoderConfig(
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
        this(
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
                tieWordEmbeddings,
                bosTokenId,
                eosTokenId,
                family == null ? null : family.modelType(),
                RopeScaling.NONE,
                0,
                false,
                eosTokenId >= 0 ? List.of(eosTokenId) : List.of());
    }

    public DecoderConfig {
        if (family == null) {
            throw new IllegalArgumentException("a decoder family is needed");
        }
        if (modelType == null) {
            modelType = family.modelType();
        }
        if (family == Family.GPT2 ? !modelType.equals("gpt2") : !LLAMA_TYPES.contains(modelType)) {
            throw new IllegalArgumentException(
                    "model_type " + modelType + " is not of the " + family + " architecture");
        }
        if (ropeScaling == null) {
            ropeScaling = RopeScaling.NONE;
        }
        if (slidingWindow < 0) {
            throw new IllegalArgumentException("sliding_window must not be negative");
        }
        if (family == Family.GPT2 && (slidingWindow > 0 || qkvBias)) {
            throw new IllegalArgumentException("GPT-2 has no sliding window nor q/k/v-only biases");
        }
        eosTokenIds = List.copyOf(eosTokenIds == null ? List.of() : eosTokenIds);
        for (int id : eosTokenIds) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException(
                        "eos_token_id " + id + " outside the vocabulary");
            }
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
                eosTokenId,
                modelType,
                ropeScaling,
                slidingWindow,
                qkvBias,
                eosTokenIds);
    }

    /** This configuration with another model type, RoPE scaling, window and q/k/v biases. */
    public DecoderConfig withVariant(
            String type, RopeScaling scaling, int window, boolean qkvBiases) {
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
                tieWordEmbeddings,
                bosTokenId,
                eosTokenId,
                type,
                scaling,
                window,
                qkvBiases,
                eosTokenIds);
    }

    /** This configuration with another RoPE base. */
    public DecoderConfig withRopeTheta(double theta) {
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
                theta,
                exactGelu,
                attentionBias,
                tieWordEmbeddings,
                bosTokenId,
                eosTokenId,
                modelType,
                ropeScaling,
                slidingWindow,
                qkvBias,
                eosTokenIds);
    }

    /** Whether the q, k and v projections have biases. */
    public boolean hasQkvBias() {
        return qkvBias || attentionBias;
    }

    /** Whether generation ends at {@code token}. */
    public boolean isEos(long token) {
        return eosTokenIds.contains((int) token) || (hasEos() && token == eosTokenId);
    }

    /**
     * Reads a Hugging Face {@code config.json} of a GPT-2, Llama, Qwen2 or Mistral model. Settings
     * this implementation does not compute (other RoPE scaling types, a head dimension other than
     * hidden / heads, per-layer attention scaling, other activations, Qwen2's sliding window) are
     * refused, naming the key, rather than silently ignored.
     */
    public static DecoderConfig fromHfJson(String json) {
        JsonNode root = HfConfigJson.read(json);
        String modelType = root.path("model_type").asText("").toLowerCase(Locale.ROOT);
        return switch (modelType) {
            case "gpt2" -> gpt2FromJson(root);
            case "llama", "qwen2", "mistral" -> llamaFromJson(root, modelType);
            default ->
                    throw new IllegalArgumentException(
                            "not a supported causal LM: model_type '"
                                    + modelType
                                    + "' (gpt2, llama, qwen2 or mistral)");
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
                                    "config.json: unsupported activation_function " + act);
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

    private static DecoderConfig llamaFromJson(JsonNode root, String modelType) {
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new IllegalArgumentException(
                    "config.json: unsupported hidden_act " + act + " (need silu)");
        }
        RopeScaling scaling = RopeScaling.fromJson(root.get("rope_scaling"));
        if (root.path("mlp_bias").asBoolean(false)) {
            throw new IllegalArgumentException("config.json: mlp_bias is not supported");
        }
        int hidden = required(root, "hidden_size");
        int heads = required(root, "num_attention_heads");
        JsonNode headDim = root.get("head_dim");
        if (headDim != null && !headDim.isNull() && headDim.asInt() * heads != hidden) {
            throw new IllegalArgumentException(
                    "config.json: head_dim "
                            + headDim.asInt()
                            + " other than hidden / heads is not supported");
        }
        int window = 0;
        boolean qkv = false;
        int bosFallback = -1;
        switch (modelType) {
            case "qwen2" -> {
                // Qwen2Attention: q/k/v with bias, o without; its tokenizers add no BOS
                qkv = true;
                if (root.path("use_sliding_window").asBoolean(false)) {
                    throw new IllegalArgumentException(
                            "config.json: use_sliding_window=true is not supported for qwen2");
                }
            }
            case "mistral" -> {
                JsonNode w = root.get("sliding_window");
                if (w != null && !w.isNull()) {
                    if (!w.canConvertToInt() || w.asInt() <= 0) {
                        throw new IllegalArgumentException(
                                "config.json: sliding_window must be a positive integer: " + w);
                    }
                    window = w.asInt();
                }
            }
            default -> {}
        }
        JsonNode kv = root.get("num_key_value_heads");
        int vocab = required(root, "vocab_size");
        int bos = modelType.equals("qwen2") ? -1 : tokenId(root, "bos_token_id", bosFallback);
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
                bos,
                tokenId(root, "eos_token_id", -1),
                modelType,
                scaling,
                window,
                qkv,
                tokenIds(root, "eos_token_id"));
    }

    /** This configuration as a Hugging Face {@code config.json}. */
    public String toHfJson() {
        ObjectNode root = HfConfigJson.newObject();
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
            root.put("model_type", modelType);
            root.putArray("architectures")
                    .add(
                            switch (modelType) {
                                case "qwen2" -> "Qwen2ForCausalLM";
                                case "mistral" -> "MistralForCausalLM";
                                default -> "LlamaForCausalLM";
                            });
            root.put("hidden_size", hiddenSize);
            root.put("num_hidden_layers", numLayers);
            root.put("num_attention_heads", numHeads);
            root.put("num_key_value_heads", numKvHeads);
            root.put("intermediate_size", intermediateSize);
            root.put("max_position_embeddings", maxPositions);
            root.put("rms_norm_eps", normEps);
            root.put("rope_theta", ropeTheta);
            root.put("hidden_act", "silu");
            if (!modelType.equals("qwen2")) {
                root.put("attention_bias", attentionBias);
            } else if (attentionBias || !qkvBias) {
                throw new IllegalStateException("qwen2 has q/k/v biases only");
            }
            ropeScaling.toJson(root);
            if (modelType.equals("mistral")) {
                if (slidingWindow > 0) {
                    root.put("sliding_window", slidingWindow);
                } else {
                    root.putNull("sliding_window");
                }
            } else if (slidingWindow > 0) {
                throw new IllegalStateException(modelType + " has no sliding window");
            }
        }
        if (eosTokenIds.size() > 1) {
            var ids = root.putArray("eos_token_id");
            eosTokenIds.forEach(ids::add);
        }
        return HfConfigJson.write(root);
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

    private static List<Integer> tokenIds(JsonNode root, String key) {
        JsonNode v = root.get(key);
        List<Integer> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (v.isArray()) {
            v.forEach(e -> out.add(e.asInt()));
        } else {
            out.add(v.asInt());
        }
        return out;
    }
}
