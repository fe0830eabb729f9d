package io.fedstream.worker.bert;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.fedstream.schemas.TensorSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sequence classification on a frozen {@link BertEncoder}: mean-pooled last hidden states (the
 * sentence embedding) into a trainable linear head, {@code logits = pool(h) W^T + b}. The head is
 * part of the adapter: {@code head.weight [classes, hidden]} (initialised {@code N(0, 0.02)}, like
 * Hugging Face classifiers) and {@code head.bias [classes]} (zeros) follow the encoder's LoRA
 * tensors in the spec.
 *
 * <p>Inputs as {@link BertEncoder}; output: logits {@code [B, classes]}.
 */
public final class BertClassifier extends AbstractBlock implements AdapterBlock {
    public static final String HEAD_WEIGHT = "head.weight";
    public static final String HEAD_BIAS = "head.bias";

    /** Standard deviation of the head's initial weights. */
    public static final double HEAD_INIT_STD = 0.02;

    private static final byte VERSION = 1;

    private final BertEncoder encoder;
    private final int numClasses;
    private final Parameter headWeight;
    private final Parameter headBias;

    public BertClassifier(BertEncoder encoder, int numClasses) {
        super(VERSION);
        if (numClasses < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes");
        }
        this.encoder = addChildBlock("encoder", encoder);
        this.numClasses = numClasses;
        int hidden = encoder.config().hiddenSize();
        headWeight =
                addParameter(
                        Parameter.builder()
                                .setName("head_weight")
                                .setType(Parameter.Type.WEIGHT)
                                .optShape(new Shape(numClasses, hidden))
                                .optInitializer(Initializer.ZEROS)
                                .build());
        headBias =
                addParameter(
                        Parameter.builder()
                                .setName("head_bias")
                                .setType(Parameter.Type.BIAS)
                                .optShape(new Shape(numClasses))
                                .optInitializer(Initializer.ZEROS)
                                .build());
    }

    public int numClasses() {
        return numClasses;
    }

    @Override
    public BertEncoder encoder() {
        return encoder;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray hidden = encoder.forward(ps, inputs, training, params).singletonOrThrow();
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : inputs.get(0).onesLike();
        NDArray pooled = BertEncoder.meanPool(hidden, mask);
        Device device = pooled.getDevice();
        NDArray w = ps.getValue(headWeight, device, training);
        NDArray b = ps.getValue(headBias, device, training);
        return Linear.linear(pooled, w, b);
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        encoder.initialize(manager, dataType, inputShapes);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), numClasses)};
    }

    @Override
    public Map<String, Parameter> adapterParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>(encoder.adapterParameters());
        out.put(HEAD_WEIGHT, headWeight);
        out.put(HEAD_BIAS, headBias);
        return out;
    }

    @Override
    public List<TensorSpec> adapterTensors() {
        List<TensorSpec> out = new ArrayList<>(encoder.adapterTensors());
        out.add(
                TensorSpec.normal(
                        HEAD_WEIGHT, HEAD_INIT_STD, numClasses, encoder.config().hiddenSize()));
        out.add(TensorSpec.zeros(HEAD_BIAS, numClasses));
        return out;
    }

    @Override
    public Map<String, Parameter> baseParameters() {
        return encoder.baseParameters();
    }

    @Override
    public void seedDropout(long seed) {
        encoder.seedDropout(seed);
    }

    @Override
    public String toString() {
        return "BertClassifier(" + numClasses + " classes, " + encoder + ")";
    }
}
