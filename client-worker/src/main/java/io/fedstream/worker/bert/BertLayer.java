package io.fedstream.worker.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.fedstream.worker.bert.LoraConfig.Target;
import io.fedstream.worker.djl.FrozenLayerNorm;
import io.fedstream.worker.djl.LoraDense;
import io.fedstream.worker.djl.NdArrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One post-LayerNorm BERT transformer layer:
 *
 * <pre>
 * a = LayerNorm(x + Dense_o(MultiHeadAttention(Dense_q x, Dense_k x, Dense_v x, mask)))
 * y = LayerNorm(a + Dense_out(GELU(Dense_in a)))
 * </pre>
 *
 * with scaled dot-product attention {@code softmax(q k^T / sqrt(d) + maskBias) v} per head and the
 * exact (erf) GELU. Every dense layer is a {@link LoraDense}. Inputs: hidden states {@code [B, T,
 * H]} and the additive mask bias {@code [B, 1, 1, T]}.
 */
public final class BertLayer extends AbstractBlock {
    private static final byte VERSION = 1;

    private final int numHeads;
    private final int headDim;
    private final float scale;
    private final Map<Target, LoraDense> dense;
    private final FrozenLayerNorm attentionNorm;
    private final FrozenLayerNorm outputNorm;

    BertLayer(int index, BertConfig config, BertWeights weights, LoraConfig lora) {
        super(VERSION);
        this.numHeads = config.numHeads();
        this.headDim = config.headDim();
        this.scale = (float) Math.sqrt(headDim);
        Map<Target, LoraDense> d = new EnumMap<>(Target.class);
        for (Target t : Target.values()) {
            String hf = BertWeights.layerName(index, t.hfModule());
            int rank = lora.adapts(t, index) ? lora.rank() : 0;
            d.put(
                    t,
                    new LoraDense(
                            hf,
                            weights.get(hf + ".weight"),
                            weights.get(hf + ".bias"),
                            rank,
                            lora.scaling(),
                            lora.dropout(),
                            lora.freezeA()));
        }
        this.dense = Collections.unmodifiableMap(d);
        addChildBlock(Target.QUERY.moduleName(), dense.get(Target.QUERY));
        addChildBlock(Target.KEY.moduleName(), dense.get(Target.KEY));
        addChildBlock(Target.VALUE.moduleName(), dense.get(Target.VALUE));
        addChildBlock(Target.ATTENTION_OUTPUT.moduleName(), dense.get(Target.ATTENTION_OUTPUT));
        attentionNorm =
                addChildBlock("attention_norm", norm(index, "attention.output", weights, config));
        addChildBlock(Target.INTERMEDIATE.moduleName(), dense.get(Target.INTERMEDIATE));
        addChildBlock(Target.OUTPUT.moduleName(), dense.get(Target.OUTPUT));
        outputNorm = addChildBlock("output_norm", norm(index, "output", weights, config));
    }

    private static FrozenLayerNorm norm(
            int index, String module, BertWeights weights, BertConfig config) {
        String hf = BertWeights.layerName(index, module + ".LayerNorm");
        return new FrozenLayerNorm(
                hf, weights.get(hf + ".weight"), weights.get(hf + ".bias"), config.layerNormEps());
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray maskBias = inputs.get(1);
        Shape shape = x.getShape();
        long batch = shape.get(0);
        long seq = shape.get(1);
        long hidden = shape.get(2);

        NDArray q = heads(apply(Target.QUERY, ps, x, training, params), batch, seq);
        NDArray k = heads(apply(Target.KEY, ps, x, training, params), batch, seq);
        NDArray v = heads(apply(Target.VALUE, ps, x, training, params), batch, seq);
        // scores / sqrt(d) with a libtorch-owned scalar (autograd keeps it), see NdArrays.scalar
        NDArray sqrtD = NdArrays.scalar(x.getManager(), scale);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(sqrtD).add(maskBias);
        NDArray probs = scores.softmax(-1);
        NDArray context =
                probs.matMul(v).transpose(0, 2, 1, 3).reshape(new Shape(batch, seq, hidden));
        NDArray attn = apply(Target.ATTENTION_OUTPUT, ps, context, training, params);
        NDArray a = normed(attentionNorm, ps, attn.add(x), training, params);

        NDArray inner = Activation.gelu(apply(Target.INTERMEDIATE, ps, a, training, params));
        NDArray out = apply(Target.OUTPUT, ps, inner, training, params);
        return new NDList(normed(outputNorm, ps, out.add(a), training, params));
    }

    // [B, T, H] -> [B, heads, T, d]
    private NDArray heads(NDArray x, long batch, long seq) {
        return x.reshape(new Shape(batch, seq, numHeads, headDim)).transpose(0, 2, 1, 3);
    }

    private NDArray apply(
            Target t,
            ParameterStore ps,
            NDArray x,
            boolean training,
            PairList<String, Object> params) {
        return dense.get(t).forward(ps, new NDList(x), training, params).singletonOrThrow();
    }

    private static NDArray normed(
            FrozenLayerNorm norm,
            ParameterStore ps,
            NDArray x,
            boolean training,
            PairList<String, Object> params) {
        return norm.forward(ps, new NDList(x), training, params).singletonOrThrow();
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape hidden = inputShapes[0];
        for (LoraDense d : dense.values()) {
            d.initialize(manager, dataType, hidden.slice(0, 2).add(d.inFeatures()));
        }
        attentionNorm.initialize(manager, dataType, hidden);
        outputNorm.initialize(manager, dataType, hidden);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    /** The dense layers by target. */
    Map<Target, LoraDense> dense() {
        return dense;
    }

    /** The frozen parameters under their HF names ({@code encoder.layer.i.} included). */
    Map<String, Parameter> hfParameters(int index) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (Map.Entry<Target, LoraDense> e : dense.entrySet()) {
            String hf = BertWeights.layerName(index, e.getKey().hfModule());
            out.put(hf + ".weight", e.getValue().weight());
            out.put(hf + ".bias", e.getValue().bias());
        }
        String a = BertWeights.layerName(index, "attention.output.LayerNorm");
        out.put(a + ".weight", attentionNorm.weight());
        out.put(a + ".bias", attentionNorm.bias());
        String o = BertWeights.layerName(index, "output.LayerNorm");
        out.put(o + ".weight", outputNorm.weight());
        out.put(o + ".bias", outputNorm.bias());
        return out;
    }
}
