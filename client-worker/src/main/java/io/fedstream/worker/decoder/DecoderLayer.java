package io.fedstream.worker.decoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.fedstream.worker.decoder.DecoderConfig.Family;
import io.fedstream.worker.decoder.DecoderLora.Module;
import io.fedstream.worker.djl.FrozenLayerNorm;
import io.fedstream.worker.djl.FrozenNorm;
import io.fedstream.worker.djl.FrozenRmsNorm;
import io.fedstream.worker.djl.LoraDense;
import io.fedstream.worker.djl.NdArrays;
import io.fedstream.worker.djl.Weight;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One pre-norm decoder block:
 *
 * <pre>
 * a = x + o_proj(CausalSelfAttention(norm1 x))
 * y = a + MLP(norm2 a)
 * </pre>
 *
 * GPT-2: LayerNorms, {@code MLP(h) = down(gelu(up h))}; Llama: RMSNorms, RoPE on queries and keys,
 * {@code MLP(h) = down(silu(gate h) * up h)}, grouped-query attention (every key/value head serves
 * {@code groups} consecutive query heads, as Hugging Face's {@code repeat_kv}). Attention is {@code
 * softmax(q k^T / sqrt(d) + bias) v} with an additive bias that holds the causal and padding masks.
 * Every projection is a {@link LoraDense}.
 */
public final class DecoderLayer extends AbstractBlock {
    private static final byte VERSION = 1;
    private static final float GELU_C = (float) Math.sqrt(2 / Math.PI);

    private final DecoderConfig config;
    private final Map<Module, LoraDense> dense;
    private final Block norm1;
    private final Block norm2;
    private final float sqrtD;

    DecoderLayer(int index, DecoderConfig config, DecoderWeights weights, DecoderLora lora) {
        super(VERSION);
        this.config = config;
        this.sqrtD = (float) Math.sqrt(config.headDim());
        norm1 = addChildBlock("norm1", norm(index, 1, config, weights));
        Map<Module, LoraDense> d = new EnumMap<>(Module.class);
        for (Module m : Module.values()) {
            if (!m.existsIn(config.family())) {
                continue;
            }
            Weight[] wb = weights.linear(config, index, m);
            String name = "layer" + index + "." + m.moduleName();
            int rank = lora.adapts(m) ? lora.rank() : 0;
            d.put(m, new LoraDense(name, wb[0], wb[1], rank, lora.scaling(), lora.dropout()));
            addChildBlock(m.moduleName(), d.get(m));
        }
        this.dense = Collections.unmodifiableMap(d);
        norm2 = addChildBlock("norm2", norm(index, 2, config, weights));
    }

    static Block norm(int layer, int which, DecoderConfig config, DecoderWeights weights) {
        String hf = DecoderWeights.normName(config, layer, which);
        if (config.family() == Family.GPT2) {
            return new FrozenLayerNorm(
                    hf, weights.get(hf + ".weight"), weights.get(hf + ".bias"), config.normEps());
        }
        return new FrozenRmsNorm(hf, weights.get(hf + ".weight"), config.normEps());
    }

    /** Cached keys and values of one layer, {@code [B, kvHeads, S, d]} (keys after RoPE). */
    static final class KvEntry {
        NDArray keys;
        NDArray values;
    }

    /**
     * @param x hidden states {@code [B, T, H]}
     * @param bias additive attention bias {@code [B or 1, 1, T, S]} where {@code S} counts cached
     *     and new positions
     * @param cos RoPE cosines {@code [T, d]} (Llama; null for GPT-2)
     * @param sin RoPE sines {@code [T, d]}
     * @param rotate the {@code [d, d]} matrix with {@code x R = rotate_half(x)} (Llama)
     * @param cache this layer's cache, extended by the new keys and values; null for none
     */
    NDArray apply(
            ParameterStore ps,
            NDArray x,
            NDArray bias,
            NDArray cos,
            NDArray sin,
            NDArray rotate,
            KvEntry cache,
            boolean training,
            PairList<String, Object> params) {
        Shape shape = x.getShape();
        long batch = shape.get(0);
        long seq = shape.get(1);
        NDArray h = run(norm1, ps, x, training, params);
        NDArray q = heads(project(Module.Q_PROJ, ps, h, training, params), batch, seq, true);
        NDArray k = heads(project(Module.K_PROJ, ps, h, training, params), batch, seq, false);
        NDArray v = heads(project(Module.V_PROJ, ps, h, training, params), batch, seq, false);
        if (cos != null) {
            q = q.mul(cos).add(q.matMul(rotate).mul(sin));
            k = k.mul(cos).add(k.matMul(rotate).mul(sin));
        }
        if (cache != null) {
            if (cache.keys != null) {
                // concat copies: the previous cache arrays are no longer needed
                NDArray oldKeys = cache.keys;
                NDArray oldValues = cache.values;
                k = oldKeys.concat(k, 2);
                v = oldValues.concat(v, 2);
                oldKeys.close();
                oldValues.close();
            }
            cache.keys = k;
            cache.values = v;
        }
        k = repeatKv(k);
        v = repeatKv(v);
        NDArray scale = NdArrays.scalar(x.getManager(), sqrtD);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(scale).add(bias);
        NDArray context =
                scores.softmax(-1)
                        .matMul(v)
                        .transpose(0, 2, 1, 3)
                        .reshape(new Shape(batch, seq, config.hiddenSize()));
        NDArray a = x.add(project(Module.O_PROJ, ps, context, training, params));
        NDArray m = run(norm2, ps, a, training, params);
        NDArray inner;
        if (config.family() == Family.GPT2) {
            NDArray up = project(Module.UP_PROJ, ps, m, training, params);
            inner = config.exactGelu() ? Activation.gelu(up) : geluTanh(up);
        } else {
            NDArray gate = project(Module.GATE_PROJ, ps, m, training, params);
            NDArray up = project(Module.UP_PROJ, ps, m, training, params);
            inner = gate.mul(Activation.sigmoid(gate)).mul(up);
        }
        return a.add(project(Module.DOWN_PROJ, ps, inner, training, params));
    }

    /** {@code 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))}, GPT-2's {@code gelu_new}. */
    static NDArray geluTanh(NDArray x) {
        NDManager m = x.getManager();
        NDArray cubic = x.mul(x).mul(x).mul(NdArrays.scalar(m, 0.044715f));
        NDArray t = x.add(cubic).mul(NdArrays.scalar(m, GELU_C)).tanh();
        return x.mul(t.add(NdArrays.scalar(m, 1f))).mul(NdArrays.scalar(m, 0.5f));
    }

    // [B, T, heads * d] -> [B, heads, T, d]
    private NDArray heads(NDArray x, long batch, long seq, boolean query) {
        int n = query ? config.numHeads() : config.numKvHeads();
        return x.reshape(new Shape(batch, seq, n, config.headDim())).transpose(0, 2, 1, 3);
    }

    // [B, kv, S, d] -> [B, kv * groups, S, d], kv head j serving query heads j*groups ...
    private NDArray repeatKv(NDArray x) {
        int groups = config.groups();
        if (groups == 1) {
            return x;
        }
        Shape s = x.getShape();
        return x.expandDims(2)
                .repeat(2, groups)
                .reshape(new Shape(s.get(0), s.get(1) * groups, s.get(2), s.get(3)));
    }

    private NDArray project(
            Module m, ParameterStore ps, NDArray x, boolean training, PairList<String, Object> p) {
        return dense.get(m).forward(ps, new NDList(x), training, p).singletonOrThrow();
    }

    private static NDArray run(
            Block b, ParameterStore ps, NDArray x, boolean training, PairList<String, Object> p) {
        return b.forward(ps, new NDList(x), training, p).singletonOrThrow();
    }

    /** Inputs: hidden states, attention bias and, for Llama, cos, sin and the rotation. */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        boolean rope = inputs.size() > 2;
        return new NDList(
                apply(
                        ps,
                        inputs.get(0),
                        inputs.get(1),
                        rope ? inputs.get(2) : null,
                        rope ? inputs.get(3) : null,
                        rope ? inputs.get(4) : null,
                        null,
                        training,
                        params));
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape hidden = inputShapes[0];
        norm1.initialize(manager, dataType, hidden);
        norm2.initialize(manager, dataType, hidden);
        for (LoraDense d : dense.values()) {
            d.initialize(manager, dataType, hidden.slice(0, 2).add(d.inFeatures()));
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    /** Starts a pass with replayable dropout masks in every projection (LoraDense#beginPass). */
    void beginPass() {
        dense.values().forEach(LoraDense::beginPass);
    }

    /** Draws the masks of the pass begun last again. */
    void replayPass() {
        dense.values().forEach(LoraDense::replayPass);
    }

    /** Ends a replayable pass. */
    void endPass() {
        dense.values().forEach(LoraDense::endPass);
    }

    Map<Module, LoraDense> dense() {
        return dense;
    }

    /** The frozen parameters, named {@code layer<i>.<module>.weight} etc. */
    Map<String, Parameter> baseParameters(int index) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        String p = "layer" + index + ".";
        normParameters(out, p + "norm1", norm1);
        normParameters(out, p + "norm2", norm2);
        for (Map.Entry<Module, LoraDense> e : dense.entrySet()) {
            out.put(p + e.getKey().moduleName() + ".weight", e.getValue().weight());
            out.put(p + e.getKey().moduleName() + ".bias", e.getValue().bias());
        }
        return out;
    }

    static void normParameters(Map<String, Parameter> out, String name, Block norm) {
        out.put(name + ".weight", ((FrozenNorm) norm).weight());
        if (norm instanceof FrozenLayerNorm ln) {
            out.put(name + ".bias", ln.bias());
        }
    }
}
