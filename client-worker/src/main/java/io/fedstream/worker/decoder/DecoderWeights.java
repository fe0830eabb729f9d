package io.fedstream.worker.decoder;

import io.fedstream.worker.decoder.DecoderConfig.Family;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.djl.Weight;
import io.fedstream.worker.weights.StoredTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The weights of a causal decoder under Hugging Face names, with the layouts of the checkpoints:
 *
 * <ul>
 *   <li>GPT-2 ({@code GPT2LMHeadModel}, {@code transformer.} prefix dropped): {@code wte.weight [V,
 *       H]}, {@code wpe.weight [P, H]}, {@code h.i.ln_1.weight/bias}, {@code h.i.attn.c_attn.weight
 *       [H, 3H]} (Conv1D: {@code [in, out]}, columns q | k | v) and {@code .bias [3H]}, {@code
 *       h.i.attn.c_proj.weight [H, H]}, {@code h.i.ln_2.*}, {@code h.i.mlp.c_fc.weight [H, I]},
 *       {@code h.i.mlp.c_proj.weight [I, H]}, {@code ln_f.*}; {@code lm_head.weight [V, H]} only if
 *       untied. Buffers such as {@code h.i.attn.bias} are ignored.
 *   <li>Llama ({@code LlamaForCausalLM}): {@code model.embed_tokens.weight}, {@code
 *       model.layers.i.input_layernorm.weight}, {@code
 *       model.layers.i.self_attn.{q,k,v,o}_proj.weight} ({@code nn.Linear}: {@code [out, in]}),
 *       {@code model.layers.i.post_attention_layernorm.weight}, {@code
 *       model.layers.i.mlp.{gate,up,down}_proj.weight}, {@code model.norm.weight}; {@code
 *       lm_head.weight} unless tied.
 * </ul>
 *
 * {@link #linear} hands every projection out as an {@code nn.Linear} pair {@code (W [out, in], b
 * [out])}: GPT-2's Conv1D weights are transposed and {@code c_attn} split into q, k and v; missing
 * biases (Llama) are zeros.
 */
public final class DecoderWeights {
    public static final String LM_HEAD = "lm_head.weight";

    private final Map<String, Weight> tensors;

    private DecoderWeights(Map<String, Weight> tensors) {
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /**
     * Weights under HF names; a GPT-2 {@code transformer.} prefix is dropped. The values may be
     * {@link FloatTensor}s or {@link StoredTensor}s still in their file.
     */
    public static DecoderWeights of(Map<String, ? extends Weight> named) {
        Map<String, Weight> out = new LinkedHashMap<>();
        for (Map.Entry<String, ? extends Weight> e : named.entrySet()) {
            String n = e.getKey();
            if (n.startsWith("transformer.")) {
                n = n.substring("transformer.".length());
            }
            if (out.put(n, e.getValue()) != null) {
                throw new IllegalArgumentException("two tensors are named " + n);
            }
        }
        return new DecoderWeights(out);
    }

    /** Every tensor as float32 in Java memory (reads stored tensors: for small models). */
    public Map<String, FloatTensor> tensors() {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(k, v.toFloatTensor()));
        return out;
    }

    /** The tensor {@code name} as float32 in Java memory. */
    public FloatTensor get(String name) {
        return weight(name).toFloatTensor();
    }

    /** The tensor {@code name} as it is held (possibly still in its file). */
    public Weight weight(String name) {
        Weight t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("checkpoint lacks " + name);
        }
        return t;
    }

    /** Token embeddings {@code [V, H]}. */
    public Weight tokenEmbeddings(DecoderConfig config) {
        return weight(config.family() == Family.GPT2 ? "wte.weight" : "model.embed_tokens.weight");
    }

    /** The untied LM head {@code [V, H]}. */
    public Weight lmHead() {
        return weight(LM_HEAD);
    }

    /** {@code h.<layer>.<suffix>} (GPT-2) or {@code model.layers.<layer>.<suffix>} (Llama). */
    public static String layerName(DecoderConfig config, int layer, String suffix) {
        return (config.family() == Family.GPT2 ? "h." : "model.layers.") + layer + "." + suffix;
    }

    /** The HF prefix of the first and second norm of a block and of the final norm. */
    static String normName(DecoderConfig config, int layer, int which) {
        boolean gpt2 = config.family() == Family.GPT2;
        return switch (which) {
            case 1 -> layerName(config, layer, gpt2 ? "ln_1" : "input_layernorm");
            case 2 -> layerName(config, layer, gpt2 ? "ln_2" : "post_attention_layernorm");
            default -> gpt2 ? "ln_f" : "model.norm";
        };
    }

    /**
     * The projection {@code module} of block {@code layer} as an {@code nn.Linear}: {@code [0]} the
     * weight {@code [out, in]}, {@code [1]} the bias {@code [out]}.
     */
    public Weight[] linear(DecoderConfig config, int layer, Module module) {
        if (!module.existsIn(config.family())) {
            throw new IllegalArgumentException(config.family() + " has no " + module);
        }
        int h = config.hiddenSize();
        if (config.family() == Family.GPT2) {
            return switch (module) {
                case Q_PROJ, K_PROJ, V_PROJ -> {
                    int part = module.ordinal() - Module.Q_PROJ.ordinal();
                    FloatTensor w = get(layerName(config, layer, "attn.c_attn.weight")).transpose();
                    FloatTensor b = get(layerName(config, layer, "attn.c_attn.bias"));
                    float[] wd = Arrays.copyOfRange(w.data(), part * h * h, (part + 1) * h * h);
                    float[] bd = Arrays.copyOfRange(b.data(), part * h, (part + 1) * h);
                    yield new FloatTensor[] {
                        new FloatTensor(new int[] {h, h}, wd), new FloatTensor(new int[] {h}, bd)
                    };
                }
                case O_PROJ -> conv1d(layerName(config, layer, "attn.c_proj"));
                case UP_PROJ -> conv1d(layerName(config, layer, "mlp.c_fc"));
                case DOWN_PROJ -> conv1d(layerName(config, layer, "mlp.c_proj"));
                case GATE_PROJ -> throw new IllegalStateException();
            };
        }
        String base =
                layerName(
                        config,
                        layer,
                        (module.isAttention() ? "self_attn." : "mlp.") + module.moduleName());
        Weight w = weight(base + ".weight");
        Weight b = tensors.get(base + ".bias");
        if (b == null) {
            b = new FloatTensor(new int[] {w.dim(0)}, new float[w.dim(0)]);
        }
        return new Weight[] {w, b};
    }

    private FloatTensor[] conv1d(String base) {
        return new FloatTensor[] {get(base + ".weight").transpose(), get(base + ".bias")};
    }

    /** Fills one tensor's values: see {@link #generate}. */
    @FunctionalInterface
    public interface Fill {
        /**
         * Writes the values of tensor {@code name}.
         *
         * @param name the tensor's Hugging Face name
         * @param shape its shape
         * @param values its elements, zero on entry, to be written
         */
        void fill(String name, int[] shape, float[] values);
    }

    /**
     * Weights for {@code config}: one tensor of each {@link #expectedShapes} entry, filled by
     * {@code fill} in that order (so that a random source is drawn in a fixed order).
     */
    public static DecoderWeights generate(DecoderConfig config, Fill fill) {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : expectedShapes(config).entrySet()) {
            int[] shape = e.getValue();
            int n = 1;
            for (int d : shape) {
                n *= d;
            }
            float[] v = new float[n];
            fill.fill(e.getKey(), shape, v);
            out.put(e.getKey(), new FloatTensor(shape, v));
        }
        return of(out);
    }

    /**
     * Every tensor the model reads, with its checkpoint shape. Llama biases with {@code
     * attention_bias} (q, k, v, o) or Qwen2's (q, k, v) are listed as required.
     */
    public static Map<String, int[]> expectedShapes(DecoderConfig c) {
        Map<String, int[]> out = new LinkedHashMap<>();
        int h = c.hiddenSize();
        int v = c.vocabSize();
        int inter = c.intermediateSize();
        int kv = c.numKvHeads() * c.headDim();
        if (c.family() == Family.GPT2) {
            out.put("wte.weight", new int[] {v, h});
            out.put("wpe.weight", new int[] {c.maxPositions(), h});
            for (int i = 0; i < c.numLayers(); i++) {
                norm(out, layerName(c, i, "ln_1"), h, true);
                out.put(layerName(c, i, "attn.c_attn.weight"), new int[] {h, 3 * h});
                out.put(layerName(c, i, "attn.c_attn.bias"), new int[] {3 * h});
                out.put(layerName(c, i, "attn.c_proj.weight"), new int[] {h, h});
                out.put(layerName(c, i, "attn.c_proj.bias"), new int[] {h});
                norm(out, layerName(c, i, "ln_2"), h, true);
                out.put(layerName(c, i, "mlp.c_fc.weight"), new int[] {h, inter});
                out.put(layerName(c, i, "mlp.c_fc.bias"), new int[] {inter});
                out.put(layerName(c, i, "mlp.c_proj.weight"), new int[] {inter, h});
                out.put(layerName(c, i, "mlp.c_proj.bias"), new int[] {h});
            }
            norm(out, "ln_f", h, true);
        } else {
            out.put("model.embed_tokens.weight", new int[] {v, h});
            for (int i = 0; i < c.numLayers(); i++) {
                norm(out, layerName(c, i, "input_layernorm"), h, false);
                String a = layerName(c, i, "self_attn.");
                int[][] shapes = {{h, h}, {kv, h}, {kv, h}, {h, h}};
                String[] names = {"q_proj", "k_proj", "v_proj", "o_proj"};
                for (int k = 0; k < 4; k++) {
                    out.put(a + names[k] + ".weight", shapes[k]);
                    if (c.attentionBias() || (c.qkvBias() && k < 3)) {
                        out.put(a + names[k] + ".bias", new int[] {shapes[k][0]});
                    }
                }
                norm(out, layerName(c, i, "post_attention_layernorm"), h, false);
                String m = layerName(c, i, "mlp.");
                out.put(m + "gate_proj.weight", new int[] {inter, h});
                out.put(m + "up_proj.weight", new int[] {inter, h});
                out.put(m + "down_proj.weight", new int[] {h, inter});
            }
            norm(out, "model.norm", h, false);
        }
        if (!c.tieWordEmbeddings()) {
            out.put(LM_HEAD, new int[] {v, h});
        }
        return out;
    }

    private static void norm(Map<String, int[]> out, String name, int h, boolean bias) {
        out.put(name + ".weight", new int[] {h});
        if (bias) {
            out.put(name + ".bias", new int[] {h});
        }
    }

    /**
     * Checks that every tensor {@code config} needs is present with its shape.
     *
     * @throws IllegalArgumentException naming every missing or misshapen tensor
     */
    public void validate(DecoderConfig config) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, int[]> e : expectedShapes(config).entrySet()) {
            Weight t = tensors.get(e.getKey());
            if (t == null) {
                problems.add("missing " + e.getKey());
            } else if (t instanceof StoredTensor s && !s.floating()) {
                problems.add(
                        e.getKey()
                                + " has dtype "
                                + s.dtype()
                                + " in "
                                + s.file().getFileName()
                                + ", expected F32, F16, BF16 or F64");
            } else if (!t.hasShape(e.getValue())) {
                problems.add(
                        e.getKey()
                                + " has shape "
                                + Arrays.toString(t.shape())
                                + ", expected "
                                + Arrays.toString(e.getValue()));
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(
                    "weights do not fit " + config + ": " + String.join("; ", problems));
        }
    }

    /**
     * The tensors {@code config} reads, in {@link #expectedShapes} order (to write checkpoints).
     */
    public Map<String, FloatTensor> modelTensors(DecoderConfig config) {
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        for (String name : expectedShapes(config).keySet()) {
            out.put(name, get(name));
        }
        return out;
    }

    @Override
    public String toString() {
        return "DecoderWeights(" + tensors.size() + " tensors)";
    }
}
