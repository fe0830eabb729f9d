package io.fedstream.worker.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** LayerNorm over the last axis with pretrained, frozen scale and shift. */
public final class FrozenLayerNorm extends AbstractBlock {
    private static final byte VERSION = 1;

    private final Shape normalizedShape;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    public FrozenLayerNorm(String name, FloatTensor weight, FloatTensor bias, double eps) {
        super(VERSION);
        if (weight.rank() != 1 || !bias.hasShape(weight.shape())) {
            throw new IllegalArgumentException(name + ": LayerNorm weight and bias do not fit");
        }
        this.normalizedShape = weight.djlShape();
        this.eps = (float) eps;
        this.weight =
                addParameter(
                        NdArrays.frozen("weight", Parameter.Type.GAMMA, name + ".weight", weight));
        this.bias =
                addParameter(NdArrays.frozen("bias", Parameter.Type.BETA, name + ".bias", bias));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray w = parameterStore.getValue(weight, x.getDevice(), training);
        NDArray b = parameterStore.getValue(bias, x.getDevice(), training);
        return LayerNorm.layerNorm(x, normalizedShape, w, b, eps);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }
}
