package io.fedstream.worker.bert;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.bert.LoraConfig.Target;
import io.fedstream.worker.djl.LoraDense;
import io.fedstream.worker.djl.NdArrays;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A pretrained BERT encoder as a DJL block, written out op by op (no DJL transformer blocks), with
 * LoRA adapters on the dense layers {@link LoraConfig} targets. It computes Hugging Face {@code
 * BertModel}'s {@code last_hidden_state}: embeddings, LayerNorm, then per layer masked multi-head
 * self-attention, output dense + residual + LayerNorm, erf-GELU feed-forward + residual +
 * LayerNorm.
 *
 * <p>Inputs: {@code inputIds [B, T]} (int64), optionally {@code attentionMask [B, T]} (1 for
 * tokens, 0 for padding; all ones if absent) and {@code tokenTypeIds [B, T]} (all zeros if absent).
 * Output: the last hidden states {@code [B, T, H]}. {@link #meanPool} turns them into sentence
 * embeddings.
 *
 * <p>All pretrained weights are frozen; the adapter tensors ({@code layer3.query.lora_A}, ...) are
 * the only trainable parameters. The block takes its weights when first initialised (once).
 */
public final class BertEncoder extends AbstractBlock implements AdapterBlock {
    private static final byte VERSION = 1;
    // the additive bias of masked keys, as in transformers' extended attention mask

    private final BertConfig config;
    private final LoraConfig lora;
    private final BertEmbeddings embeddings;
    private final List<BertLayer> layers;

    /**
     * @param weights the encoder weights, checked against {@code config}
     */
    public BertEncoder(BertConfig config, BertWeights weights, LoraConfig lora) {
        super(VERSION);
        weights.validate(config);
        if (lora.isEnabled() && lora.fromLayer() >= config.numLayers()) {
            throw new IllegalArgumentException(
                    "LoRA from layer "
                            + lora.fromLayer()
                            + " but the encoder has "
                            + config.numLayers()
                            + " layers");
        }
        this.config = config;
        this.lora = lora;
        this.embeddings = addChildBlock("embeddings", new BertEmbeddings(config, weights));
        List<BertLayer> ls = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            ls.add(addChildBlock("layer" + i, new BertLayer(i, config, weights, lora)));
        }
        this.layers = Collections.unmodifiableList(ls);
    }

    /** An encoder with the weights and configuration of an ONNX BERT export. */
    public static BertEncoder fromOnnx(OnnxWeights onnx, LoraConfig lora) {
        BertWeights weights = onnx.bertWeights();
        return new BertEncoder(onnx.bertConfig(weights), weights, lora);
    }

    /** Reads an ONNX BERT export (see {@link OnnxWeights}). */
    public static BertEncoder fromOnnx(InputStream in, LoraConfig lora) throws IOException {
        return fromOnnx(OnnxWeights.read(in), lora);
    }

    public static BertEncoder fromOnnx(Path file, LoraConfig lora) throws IOException {
        return fromOnnx(OnnxWeights.read(file), lora);
    }

    /** An encoder from a local Hugging Face checkpoint. */
    public static BertEncoder fromCheckpoint(HfCheckpoint checkpoint, LoraConfig lora) {
        return new BertEncoder(checkpoint.config(), checkpoint.weights(), lora);
    }

    /** all-MiniLM-L6-v2 from the ONNX graph on the classpath (see {@link MiniLm}). */
    public static BertEncoder miniLm(LoraConfig lora) throws IOException {
        try (InputStream in = MiniLm.openOnnx()) {
            return fromOnnx(in, lora);
        }
    }

    public BertConfig config() {
        return config;
    }

    public LoraConfig lora() {
        return lora;
    }

    @Override
    public BertEncoder encoder() {
        return this;
    }

    /**
     * Inputs either {@code (inputIds, [attentionMask, [tokenTypeIds]])} as described above, or
     * {@code (hidden, attentionMask)} with float hidden states {@code [B, T, H]} that {@link
     * #frozenPrefix} computed: the forward pass then starts at the first adapted layer.
     */
    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray first = inputs.get(0);
        if (first.getDataType() == DataType.FLOAT32) {
            if (inputs.size() < 2) {
                throw new IllegalArgumentException("cached hidden states need their mask");
            }
            NDArray bias = attentionBias(first, inputs.get(1));
            return new NDList(
                    runLayers(ps, first, bias, frozenLayers(), layers.size(), training, params));
        }
        NDArray x = embed(ps, inputs, training, params);
        NDArray bias = attentionBias(first, inputs.size() > 1 ? inputs.get(1) : null);
        return new NDList(runLayers(ps, x, bias, 0, layers.size(), training, params));
    }

    /**
     * The hidden states below the first adapted layer, {@code [B, T, H]}: the embeddings and the
     * {@link #frozenLayers()} layers without adapters. They do not depend on the adapter, so a
     * trainer may compute them once per example and feed them back as {@code (hidden, mask)}.
     */
    public NDArray frozenPrefix(ParameterStore ps, NDList inputs) {
        NDArray ids = inputs.get(0);
        NDArray x = embed(ps, inputs, false, null);
        NDArray bias = attentionBias(ids, inputs.size() > 1 ? inputs.get(1) : null);
        return runLayers(ps, x, bias, 0, frozenLayers(), false, null);
    }

    /** Number of bottom layers without an adapter (all of them without LoRA). */
    public int frozenLayers() {
        return lora.frozenLayers(layers.size());
    }

    private NDArray embed(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.get(0);
        NDArray typeIds = inputs.size() > 2 ? inputs.get(2) : null;
        if (ids.getShape().dimension() != 2) {
            throw new IllegalArgumentException(
                    "input ids must be [batch, tokens]: " + ids.getShape());
        }
        NDList embedInputs = typeIds == null ? new NDList(ids) : new NDList(ids, typeIds);
        return embeddings.forward(ps, embedInputs, training, params).singletonOrThrow();
    }

    // [B, 1, 1, T] additive bias; first: ids [B, T] or hidden [B, T, H]
    private static NDArray attentionBias(NDArray first, NDArray mask) {
        long batch = first.getShape().get(0);
        long seq = first.getShape().get(1);
        NDArray bias =
                mask == null
                        ? first.getManager().zeros(new Shape(batch, seq), DataType.FLOAT32)
                        : NdArrays.maskBias(mask);
        return bias.reshape(new Shape(batch, 1, 1, seq));
    }

    private NDArray runLayers(
            ParameterStore ps,
            NDArray x,
            NDArray bias,
            int from,
            int to,
            boolean training,
            PairList<String, Object> params) {
        for (int i = from; i < to; i++) {
            x = layers.get(i).forward(ps, new NDList(x, bias), training, params).singletonOrThrow();
        }
        return x;
    }

    /**
     * Mean of the hidden states over the tokens the mask keeps: {@code sum_t h[b,t] m[b,t] /
     * max(sum_t m[b,t], 1e-9)}, {@code [B, T, H] -> [B, H]}, the sentence-transformers pooling.
     */
    public static NDArray meanPool(NDArray hidden, NDArray mask) {
        NDArray m = mask.toType(DataType.FLOAT32, false).expandDims(-1);
        NDArray sum = hidden.mul(m).sum(new int[] {1});
        NDArray count = m.sum(new int[] {1}).maximum(NdArrays.scalar(m.getManager(), 1e-9f));
        return sum.div(count);
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape ids = inputShapes[0];
        embeddings.initialize(manager, dataType, inputShapes);
        Shape hidden = ids.add(config.hiddenSize());
        Shape bias = new Shape(ids.get(0), 1, 1, ids.get(1));
        for (BertLayer layer : layers) {
            layer.initialize(manager, dataType, hidden, bias);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(config.hiddenSize())};
    }

    /** {@code layer<i>.<module>.<parameter>}, e.g. {@code layer3.query.lora_A}. */
    public static String adapterName(int layer, Target target, String parameter) {
        return "layer" + layer + "." + target.moduleName() + "." + parameter;
    }

    /** The LoRA dense layer {@code target} of layer {@code layer}. */
    public LoraDense dense(int layer, Target target) {
        return layers.get(layer).dense().get(target);
    }

    @Override
    public Map<String, Parameter> adapterParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (int i = frozenLayers(); i < layers.size(); i++) {
            for (Target t : lora.targets()) {
                LoraDense d = dense(i, t);
                out.put(adapterName(i, t, LoraDense.LORA_A), d.loraA());
                out.put(adapterName(i, t, LoraDense.LORA_B), d.loraB());
            }
        }
        return out;
    }

    @Override
    public List<TensorSpec> adapterTensors() {
        List<TensorSpec> out = new ArrayList<>();
        for (int i = frozenLayers(); i < layers.size(); i++) {
            for (Target t : lora.targets()) {
                LoraDense d = dense(i, t);
                out.add(
                        TensorSpec.uniform(
                                adapterName(i, t, LoraDense.LORA_A),
                                1 / Math.sqrt(d.inFeatures()),
                                lora.rank(),
                                d.inFeatures()));
                out.add(
                        TensorSpec.zeros(
                                adapterName(i, t, LoraDense.LORA_B), d.outFeatures(), lora.rank()));
            }
        }
        return out;
    }

    @Override
    public Map<String, Parameter> baseParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>(embeddings.hfParameters());
        for (int i = 0; i < layers.size(); i++) {
            out.putAll(layers.get(i).hfParameters(i));
        }
        return out;
    }

    @Override
    public void seedDropout(long seed) {
        SplittableRandom seeds = new SplittableRandom(seed);
        for (BertLayer layer : layers) {
            for (LoraDense d : layer.dense().values()) {
                d.seedDropout(seeds.nextLong());
            }
        }
    }

    @Override
    public String toString() {
        return "BertEncoder(" + config + ", " + lora + ")";
    }
}
