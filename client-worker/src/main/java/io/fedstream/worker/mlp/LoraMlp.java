package io.fedstream.worker.mlp;

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
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.TensorSpec;
import io.fedstream.worker.data.Sampling;
import io.fedstream.worker.djl.FloatTensor;
import io.fedstream.worker.djl.LoraDense;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The worker's model: a small frozen MLP {@code input -> hidden -> hidden -> classes} with ReLU,
 * every linear layer a {@link LoraDense}. The frozen base comes from {@link BaseWeights} (same
 * seed, same base everywhere); only the adapter tensors {@code l<i>.lora_A} and {@code l<i>.lora_B}
 * are trained and exchanged. The block outputs logits.
 */
public final class LoraMlp extends AbstractBlock {
    private static final byte VERSION = 1;

    private final LoraMlpConfig config;
    private final List<LoraDense> layers;

    public LoraMlp(LoraMlpConfig config) {
        super(VERSION);
        this.config = config;
        List<LoraDense> ls = new ArrayList<>();
        for (int i = 0; i < LoraMlpConfig.LAYERS; i++) {
            ls.add(
                    addChildBlock(
                            layerName(i),
                            new LoraDense(
                                    layerName(i),
                                    new FloatTensor(
                                            new int[] {config.layerOut(i), config.layerIn(i)},
                                            BaseWeights.weight(config, i)),
                                    new FloatTensor(
                                            new int[] {config.layerOut(i)},
                                            BaseWeights.bias(config, i)),
                                    config.rank(),
                                    config.scaling(),
                                    config.dropout())));
        }
        layers = Collections.unmodifiableList(ls);
    }

    /**
     * The adapter contract of a configuration: for each layer {@code l<i>.lora_A [rank, in]} drawn
     * from {@code N(0, 1/in)} and {@code l<i>.lora_B [out, rank]} zero, the standard LoRA
     * initialisation, so that version 0 computes exactly the frozen base model.
     */
    public static FederationSpec spec(LoraMlpConfig config, String federationId, long seed) {
        List<TensorSpec> tensors = new ArrayList<>();
        for (int i = 0; i < LoraMlpConfig.LAYERS; i++) {
            int in = config.layerIn(i);
            tensors.add(
                    TensorSpec.normal(
                            tensorName(i, LoraDense.LORA_A), 1 / Math.sqrt(in), config.rank(), in));
            tensors.add(
                    TensorSpec.zeros(
                            tensorName(i, LoraDense.LORA_B), config.layerOut(i), config.rank()));
        }
        return new FederationSpec(federationId, seed, tensors);
    }

    /** {@link #spec(LoraMlpConfig, String, long)} for this model's configuration. */
    public FederationSpec spec(String federationId, long seed) {
        return spec(config, federationId, seed);
    }

    /** {@code l<layer>}, the prefix of a layer's adapter tensors. */
    public static String layerName(int layer) {
        return "l" + layer;
    }

    /** The exchanged name of a layer's parameter, e.g. {@code l0.lora_A}. */
    public static String tensorName(int layer, String parameter) {
        return layerName(layer) + "." + parameter;
    }

    public LoraMlpConfig config() {
        return config;
    }

    public List<LoraDense> layers() {
        return layers;
    }

    /** The trainable adapter parameters by exchanged name, in spec order. */
    public Map<String, Parameter> adapterParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            out.put(tensorName(i, LoraDense.LORA_A), layers.get(i).loraA());
            out.put(tensorName(i, LoraDense.LORA_B), layers.get(i).loraB());
        }
        return out;
    }

    /** The frozen base parameters by name ({@code l0.weight}, {@code l0.bias}, ...). */
    public Map<String, Parameter> baseParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            out.put(tensorName(i, LoraDense.WEIGHT), layers.get(i).weight());
            out.put(tensorName(i, LoraDense.BIAS), layers.get(i).bias());
        }
        return out;
    }

    /**
     * Initialises all parameters in {@code manager} for float inputs of {@code [batch, inputDim]}.
     */
    public void initialize(NDManager manager) {
        initialize(manager, DataType.FLOAT32, new Shape(1, config.inputDim()));
    }

    /** Seeds every layer's dropout stream from one seed. */
    public void seedDropout(long seed) {
        for (int i = 0; i < layers.size(); i++) {
            layers.get(i).seedDropout(Sampling.streamSeed(seed, i));
        }
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDList x = inputs;
        for (int i = 0; i < layers.size(); i++) {
            x = layers.get(i).forward(parameterStore, x, training, params);
            if (i < layers.size() - 1) {
                NDArray h = x.singletonOrThrow();
                x = new NDList(Activation.relu(h));
            }
        }
        return x;
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape shape = inputShapes[0];
        for (LoraDense layer : layers) {
            layer.initialize(manager, dataType, shape);
            shape = layer.getOutputShapes(new Shape[] {shape})[0];
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(config.numClasses())};
    }
}
