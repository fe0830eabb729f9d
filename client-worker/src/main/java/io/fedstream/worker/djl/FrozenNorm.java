package io.fedstream.worker.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * A normalisation over the last axis with a pretrained, frozen scale vector ({@code
 * <name>.weight}): one input, an output of its shape. {@link FrozenLayerNorm} and {@link
 * FrozenRmsNorm} differ only in the formula (and LayerNorm's shift).
 */
public abstract class FrozenNorm extends AbstractBlock {
    private static final byte VERSION = 1;

    private final Parameter weight;

    /** Adds the frozen scale {@code weight}, which must be a vector, as parameter "weight". */
    FrozenNorm(String name, FloatTensor weight, String kind) {
        super(VERSION);
        if (weight.rank() != 1) {
            throw new IllegalArgumentException(name + ": " + kind + " weight must be a vector");
        }
        this.weight =
                addParameter(
                        NdArrays.frozen("weight", Parameter.Type.GAMMA, name + ".weight", weight));
    }

    /** Normalises {@code x} with the scale {@code w} (on x's device). */
    abstract NDList normalize(
            ParameterStore parameterStore, NDArray x, NDArray w, boolean training);

    @Override
    protected final NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        return normalize(
                parameterStore,
                x,
                parameterStore.getValue(weight, x.getDevice(), training),
                training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    /** The frozen scale. */
    public Parameter weight() {
        return weight;
    }
}
