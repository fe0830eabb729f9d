package io.fedstream.worker.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;

/** LayerNorm over the last axis with pretrained, frozen scale and shift. */
public final class FrozenLayerNorm extends FrozenNorm {
    private final Shape normalizedShape;
    private final float eps;
    private final Parameter bias;

    public FrozenLayerNorm(String name, FloatTensor weight, FloatTensor bias, double eps) {
        super(name, weight, "LayerNorm");
        if (!bias.hasShape(weight.shape())) {
            throw new IllegalArgumentException(name + ": LayerNorm weight and bias do not fit");
        }
        this.normalizedShape = weight.djlShape();
        this.eps = (float) eps;
        this.bias =
                addParameter(NdArrays.frozen("bias", Parameter.Type.BETA, name + ".bias", bias));
    }

    @Override
    NDList normalize(ParameterStore parameterStore, NDArray x, NDArray w, boolean training) {
        NDArray b = parameterStore.getValue(bias, x.getDevice(), training);
        return LayerNorm.layerNorm(x, normalizedShape, w, b, eps);
    }

    public Parameter bias() {
        return bias;
    }
}
